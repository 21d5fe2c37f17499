"""Opening a publisher's file: the one adapter fileinfo, download and compute provisioning use.

A file object (url, ipfs, arweave, graphql, smartcontract) plus the consumer's userdata and an
optional Range becomes an upstream stream: HTTP types through the `SafeFetcher` (address
policy, pinned connections, a total deadline), smart-contract files by a read-only call on a
chain this provider serves. The deadline and the size caps that apply to every caller live
here: `fetch_timeout` bounds connect + headers + body unless the caller relaxes it (a download
keeps only the minimum rate once its headers are in).
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from eth_utils import is_address, to_checksum_address

from provider.access.fetch import CHUNK, FileUnavailable, MinimumRate, SafeFetcher, UpstreamResponse
from provider.access.files import build_request, smartcontract_arguments, validate_smartcontract
from provider.chain.client import Chains
from provider.config import AccessSettings
from provider.errors import DependencyUnavailable


class StaticUpstream:
    """A body the provider computed itself (a smart-contract call's result), with the same
    surface as an HTTP upstream."""

    def __init__(self, body: bytes, content_type: str):
        self.status = 200
        self.body = body
        self.headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        self.final_url = None
        self.content_encoding = ""
        self.minimum_rate = None

    def set_deadline(self, seconds: float | None) -> None:
        pass

    def iter_content(self, chunk: int = CHUNK) -> Iterator[bytes]:
        for start in range(0, len(self.body), chunk):
            yield self.body[start:start + chunk]

    decoded = iter_content

    def read_limited(self, limit: int) -> bytes | None:
        return self.body if len(self.body) <= limit else None

    def close(self) -> None:
        pass


Upstream = UpstreamResponse | StaticUpstream


class FileSources:
    def __init__(self, fetcher: SafeFetcher, chains: Chains, settings: AccessSettings):
        self.fetcher = fetcher
        self.chains = chains
        self.settings = settings

    def open(self, obj: dict, userdata: dict, *, client_range: str | None = None,
             deadline: float | None = None) -> Upstream:
        """The file's upstream. `deadline`: seconds for the whole transfer (default fetch_timeout)."""
        if obj["type"] == "smartcontract":
            return StaticUpstream(self.call_contract(obj, userdata), "application/json")
        request = build_request(obj, userdata, ipfs_gateway=self.settings.ipfs_gateway,
                                arweave_gateway=self.settings.arweave_gateway, client_range=client_range)
        return self.fetcher.open(request, deadline=self.settings.fetch_timeout if deadline is None else deadline)

    def open_download(self, obj: dict, userdata: dict, client_range: str | None) -> Upstream:
        """As `open`, for streaming to a consumer: the deadline covers reaching the headers; the
        body then only has to keep the minimum rate (large files legitimately take long)."""
        upstream = self.open(obj, userdata, client_range=client_range)
        upstream.set_deadline(None)
        upstream.minimum_rate = MinimumRate(self.settings.download_min_rate, window=self.settings.fetch_timeout)
        return upstream

    def call_contract(self, obj: dict, userdata: dict) -> bytes:
        abi = validate_smartcontract(obj)
        chain = self.chains.find(obj.get("chainId"))
        if chain is None or not is_address(str(obj.get("address"))):
            raise FileUnavailable("smart contract chain is not served or the address is invalid")
        args = smartcontract_arguments(abi, userdata)
        args = [to_checksum_address(a) if i.get("type") == "address" and isinstance(a, str) and is_address(a) else a
                for a, i in zip(args, abi.get("inputs", []))]
        try:
            contract = chain.w3.eth.contract(address=to_checksum_address(obj["address"]), abi=[abi])
            result = chain.call(lambda: contract.functions[abi["name"]](*args).call())
        except DependencyUnavailable:
            raise
        except Exception as exc:  # web3 and eth-abi raise a dozen kinds for bad arguments or outputs
            raise FileUnavailable("smart contract call failed") from exc
        return json.dumps(result, default=_json_value).encode()


def _json_value(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else str(value)

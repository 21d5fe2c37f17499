"""Data access rules: fileinfo, initialize (provider fees) and download (order checks).

A consumer who ordered gets the bytes, streamed; nobody else does; the file's URL and the
publisher's headers never leave the provider (they go upstream only).
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from provider.access.assets import Asset, AssetCatalog
from provider.access.consumable import find_service
from provider.access.fees import provider_data, sign_provider_fee
from provider.access.fetch import FileUnavailable
from provider.access.files import (
    FileDetails, FileObjectError, parse_userdata, plan_range, public_filename, safe_filename,
    validate_file_object,
)
from provider.access.sources import FileSources, Upstream
from provider.access.orders import (FinalEvidenceCache, OrderInvalid, OrderPending, order_evidence_read,
                                    validate_order)
from provider.auth.messages import signed_message
from provider.auth.service import RequestAuthenticator
from provider.chain.client import Chains
from provider.config import AccessSettings
from provider.ddo.resolver import AssetResolver
from provider.errors import InvalidRequest, RangeNotSatisfiable, UpstreamRefused
from provider.stores.audit import AuditTrail
from provider.stores.nonces import NonceStore, nonce_json
from provider.validation import address_field, integer_field, require

# The MIME tables are read from /etc/mime.types and friends on first use: 12 ms, which the first
# download in every worker waited for. Read once here, as the worker starts.
mimetypes.init()


@dataclass
class Download:
    """What the route turns into a streamed response."""
    status: int
    headers: dict[str, str]
    body: Iterator[bytes]
    close: Callable[[], None] = field(default=lambda: None)


class AccessService(AssetCatalog):
    """The access rules, on top of the asset catalog (assets, services and their files)."""

    audit = AuditTrail.disabled()  # the provider's trail is set by `services.build_services`

    def __init__(self, chains: Chains, resolver: AssetResolver, authenticator: RequestAuthenticator,
                 nonces: NonceStore, sources: FileSources, settings: AccessSettings):
        super().__init__(chains, resolver)
        self.authenticator = authenticator
        self.nonces = nonces
        self.sources = sources
        self.settings = settings
        self.order_evidence = FinalEvidenceCache(settings.order_finality_seconds)

    # ---- file details ----------------------------------------------------------------------

    def file_details(self, obj: dict, userdata: dict, with_checksum: bool) -> FileDetails:
        """Reachability, type, size and optionally sha256 of one file; invalid if unreachable."""
        try:
            upstream = self.sources.open(obj, userdata)
        except FileObjectError:
            raise
        except FileUnavailable:
            return FileDetails(False)
        try:
            if upstream.status != 200:
                return FileDetails(False)
            content_type = (upstream.headers.get("Content-Type") or "").split(";")[0].strip() or None
            # The header counts encoded bytes; the file's size is only known by decoding it.
            length = upstream.headers.get("Content-Length") if not upstream.content_encoding else None
            filename = "" if obj["type"] == "arweave" else public_filename(obj, upstream.final_url)
            checksum = None
            limit = self.settings.max_checksum_length
            if with_checksum and (length is None or (length.isdigit() and int(length) <= limit)):
                digest, size = hashlib.sha256(), 0
                for chunk in upstream.decoded():
                    size += len(chunk)
                    if size > limit:
                        digest = None
                        break
                    digest.update(chunk)
                if digest is not None:
                    checksum = digest.hexdigest()
                    length = length or str(size)
            valid = bool(content_type or length or filename)
            return FileDetails(valid, content_type, length, filename, checksum)
        except FileUnavailable:
            return FileDetails(False)
        finally:
            upstream.close()

    # ---- endpoints -----------------------------------------------------------------------

    def fileinfo(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        # A file object sent by the caller itself concerns no asset: only its refusals (a blocked
        # address, a bad URL) are kept; every look at a DID's files is kept.
        with self.audit.action("fileinfo", did=data.get("did"), serviceId=data.get("serviceId"),
                               fileType=data.get("type"), refusals_only=data.get("type") is not None):
            return self._fileinfo(data)

    def _fileinfo(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        with_checksum = bool(data.get("checksum")) and str(data.get("checksum")).lower() not in ("false", "0")
        userdata = parse_userdata(data.get("userdata"))
        if data.get("type") is None:
            require(data, "did", "serviceId")
            asset = self.asset(data["did"])
            _, service = self.service(asset, data["serviceId"])
            files = self.service_files(asset, service)
        else:
            files = [{k: v for k, v in data.items() if k not in ("checksum", "userdata", "did", "serviceId")}]
        results = []
        for index, obj in enumerate(files):
            obj = validate_file_object(obj)
            results.append(self.file_details(obj, userdata, with_checksum).as_fileinfo(index, obj["type"]))
        return results

    def provider_fee_for_access(self, asset: Asset, service: dict[str, Any]):
        chain = asset.chain
        data = provider_data(None, time.time(), service["datatokenAddress"], str(service["id"]))
        return sign_provider_fee(chain.settings.private_key, chain.provider_address, chain.fee_token, 0, data, 0)

    def initialize(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.audit.action("initialize", did=data.get("documentId"), address=data.get("consumerAddress"),
                               serviceId=data.get("serviceId")):
            return self._initialize(data)

    def _initialize(self, data: dict[str, Any]) -> dict[str, Any]:
        require(data, "documentId", "serviceId", "consumerAddress")
        consumer = address_field(data, "consumerAddress")
        asset = self.asset(data["documentId"])
        self.require_consumable(asset, consumer)
        index, service = self.service(asset, data["serviceId"])
        self.require_service_credentials(asset, service, consumer)
        if service.get("type") == "compute":
            raise InvalidRequest(asset.prefixed("Use the initializeCompute endpoint to initialize compute jobs."))
        if data.get("transferTxId"):
            try:
                valid = validate_order(
                    asset.chain, tx_id=data["transferTxId"], sender=consumer, datatoken=service["datatokenAddress"],
                    service_index=index, service_id=str(service["id"]), service_timeout=int(service.get("timeout") or 0),
                    allow_expired_fees=True, cache=self.order_evidence, wait=self.settings.order_wait)
                return {"validOrder": valid.tx_hash}
            except OrderPending:
                raise InvalidRequest(asset.prefixed("The order transaction is not mined yet; retry once it is.")) from None
            except OrderInvalid:
                pass
        file_index = data.get("fileIndex")
        if file_index not in (None, ""):
            index_value = integer_field(data, "fileIndex", minimum=0)
            files = self.service_files(asset, service)
            if index_value >= len(files):
                raise InvalidRequest(asset.prefixed("Invalid fileIndex."))
            obj = validate_file_object(files[index_value])
            if not self.file_details(obj, parse_userdata(data.get("userdata")), False).valid:
                raise InvalidRequest(asset.prefixed(
                    f"Asset URL not found, not available or invalid. \nPayload was: {json.dumps({'documentId': asset.did, 'serviceId': service['id'], 'fileIndex': index_value})}"))
        stored = self.nonces.current(consumer)
        return {
            "datatoken": service["datatokenAddress"],
            "nonce": nonce_json(stored),
            "providerFee": self.provider_fee_for_access(asset, service).as_json(),
        }

    def download(self, data: dict[str, Any], auth_token: str | None, client_range: str | None) -> Download:
        """A file of an access service, streamed; its audit entry is written with the last byte."""
        with self.audit.action("download", did=data.get("documentId"), address=data.get("consumerAddress"),
                               serviceId=data.get("serviceId"), fileIndex=data.get("fileIndex"),
                               range=client_range) as entry:
            download = self._download(data, auth_token, client_range)
            length = download.headers.get("Content-Length")
            download.body = entry.counting(download.body, int(length) if str(length or "").isdigit() else None)
            return download

    def _download(self, data: dict[str, Any], auth_token: str | None, client_range: str | None) -> Download:
        require(data, "documentId", "serviceId", "consumerAddress", "transferTxId", "fileIndex", "nonce")
        consumer = address_field(data, "consumerAddress")
        file_index = integer_field(data, "fileIndex", minimum=0)
        # The signature and nonce are checked and consumed before anything else happens.
        # Classic clients sign `did + nonce`; ocean.js 8 signs `address + nonce + "download"`.
        self.authenticator.authorize(signer=consumer, message=signed_message("download", documentId=data["documentId"]),
                                     nonce=data["nonce"], signature=data.get("signature"), auth_token=auth_token,
                                     node_action="download", address_as_sent=str(data["consumerAddress"]))
        asset = self.asset(data["documentId"])
        found = find_service(asset.ddo, data["serviceId"])
        # The asset's state and the order's receipt, asked in one round trip to the node (a fresh
        # order waited for two); the checks below still run, and refuse, in their order.
        with asset.chain.read_ahead([self.state_read(asset), found and order_evidence_read(
                asset.chain, data["transferTxId"], found[1].get("datatokenAddress"), self.order_evidence)]):
            self.require_consumable(asset, consumer)
            index, service = self.service(asset, data["serviceId"])
            self.require_service_credentials(asset, service, consumer)
            if service.get("type") != "access":
                raise InvalidRequest(asset.prefixed(f"Service with index={data['serviceId']} is not an access service."))
            try:
                validate_order(
                    asset.chain, tx_id=data["transferTxId"], sender=consumer, datatoken=service["datatokenAddress"],
                    service_index=index, service_id=str(service["id"]),
                    service_timeout=int(service.get("timeout") or 0), cache=self.order_evidence)
            except OrderInvalid as exc:
                self.audit.record("order", did=asset.did, address=consumer, outcome="refused", reason=str(exc),
                                  orderTx=str(data["transferTxId"])[:80], use="download")
                raise InvalidRequest(asset.prefixed(
                    f"Order with tx_id {data['transferTxId']} could not be validated due to error: {exc}")) from None
        self.audit.record("order", did=asset.did, address=consumer, orderTx=str(data["transferTxId"])[:80],
                          use="download")
        files = self.service_files(asset, service)
        if file_index >= len(files):
            raise InvalidRequest(asset.prefixed("Invalid fileIndex."))
        obj = validate_file_object(files[file_index])
        return self.stream_file(obj, parse_userdata(data.get("userdata")), client_range)

    def stream_file(self, obj: dict, userdata: dict, client_range: str | None) -> Download:
        """The file as the origin sent it (an encoded body keeps its Content-Encoding and length),
        or the requested range of it: served by us when the origin ignored Range."""
        upstream = self.sources.open_download(obj, userdata, client_range)
        if upstream.status >= 400:
            status = upstream.status
            upstream.close()
            raise UpstreamRefused(status)
        headers = _response_headers(obj, upstream)
        body = upstream.iter_content()
        status = upstream.status
        if client_range and status == 200:
            length = upstream.headers.get("Content-Length")
            try:
                wanted = plan_range(client_range, int(length) if length and length.isdigit() else None)
            except RangeNotSatisfiable:
                upstream.close()
                raise
            if wanted is not None:
                status = 206
                headers.update({"Content-Range": wanted.content_range,
                                "Content-Length": str(wanted.end - wanted.start + 1), "Accept-Ranges": "bytes"})
                headers.pop("Content-Disposition", None)
                body = byte_window(body, wanted.start, wanted.end)
        return Download(status, headers, body, upstream.close)


def byte_window(chunks: Iterator[bytes], start: int, end: int) -> Iterator[bytes]:
    """Bytes `start`..`end` (inclusive) of a stream, skipping the rest without holding it."""
    position = 0
    for chunk in chunks:
        chunk_end = position + len(chunk)
        if chunk_end > start:
            yield chunk[max(0, start - position):end + 1 - position]
        position = chunk_end
        if position > end:
            return


def _response_headers(obj: dict, upstream: Upstream) -> dict[str, str]:
    content_type = upstream.headers.get("Content-Type")
    name = _upstream_filename(upstream.headers.get("Content-Disposition")) if obj["type"] not in (
        "ipfs", "arweave") else None
    name = name or public_filename(obj, upstream.final_url)
    if not content_type:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"Content-Type": content_type}
    for key in ("Content-Length", "Content-Range", "Content-Encoding", "Accept-Ranges", "Last-Modified", "ETag"):
        if upstream.headers.get(key):
            headers[key] = upstream.headers[key]
    if upstream.status != 206:
        headers.update(_disposition(name, content_type))
    return headers


def _disposition(name: str, content_type: str) -> dict[str, str]:
    if "." not in name:
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        name += extension
    # (Access-Control-Expose-Headers, which names Content-Disposition, is on every answer.)
    return {"Content-Disposition": f"attachment;filename={safe_filename(name)}"}


def _upstream_filename(value: str | None) -> str | None:
    if not value or "filename=" not in value:
        return None
    name = value.split("filename=", 1)[1].split(";")[0].strip().strip('"')
    return safe_filename(name) if name else None

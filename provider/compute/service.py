"""The compute API's rules: environments, initializeCompute, start, status, stop, delete,
results and live logs. The engine runs what this service admitted."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator

from eth_utils import to_checksum_address

from provider.access.consumable import NotConsumable
from provider.access.fees import provider_data, sign_provider_fee
from provider.access.fetch import FileUnavailable
from provider.access.files import validate_file_object
from provider.access.orders import OrderInvalid, OrderPending, ValidOrder, validate_order
from provider.access.files import ByteRange, FileObjectError, plan_range
from provider.access.assets import Asset, FilesUnreadable, UnknownAsset, UnknownService
from provider.access.service import AccessService
from provider.auth.messages import signed_message
from provider.auth.service import RequestAuthenticator
from provider.auth.signatures import same_address
from provider.compute import status as st
from provider.compute.environments import Environment, compute_fee
from provider.compute.interfaces import ComputeEngine
from provider.compute.jobs import AgreementInUse, Job, JobStore
from provider.compute.node_view import is_node_job, job_view, node_results
from provider.compute.output_gate import combined, readable
from provider.compute.pipeline import open_result
from provider.compute.validation import (
    WorkflowError,
    check_container,
    check_trust,
    container_section_checksum,
)
from provider.config import Settings
from provider.errors import (
    DependencyUnavailable,
    InvalidRequest,
    NotAuthorized,
    NotFound,
    ProviderError,
    ValidationError,
)
from provider.stores.audit import AuditTrail
from provider.stores.nonces import format_nonce
from provider.validation import address_field, integer_field, require


def _first_did(body: dict[str, Any]) -> Any:
    """The main dataset a compute request names (for its audit entry), whatever its shape."""
    for key in ("dataset", "datasets"):
        value = body.get(key)
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, dict) and first.get("documentId"):
            return first["documentId"]
    return None


def _job_did(jobs: JobStore, job_id: Any) -> str | None:
    job = jobs.get(job_id) if isinstance(job_id, str) and job_id else None
    return job.did if job else None


# The Ocean Node command ocean.js 8 signs for each classic action on a job.
NODE_ACTIONS = {"computeStop": "stopCompute", "computeResult": "getComputeResult",
                "computeStreamableLogs": "getComputeStreamableLogs"}


def _views(job: Job, address: str) -> bool:
    """Is `address` one of the job's additionalViewers (results, status and logs, not stop)?"""
    return any(same_address(viewer, address) for viewer in (job.spec or {}).get("additionalViewers") or [])


@dataclass
class AlgorithmInfo:
    did: str | None
    asset: Asset | None
    service_index: int | None
    service: dict[str, Any] | None
    container: dict[str, Any]
    files_checksum: str | None
    request: dict[str, Any]
    file_hashes: list[str] | None = None  # sha256 of each file, as checked (published algorithms)


@dataclass(frozen=True)
class StartRequest:
    """A compute start, parsed: the fields the reference requires, in its 400 shape."""
    consumer: str
    nonce: Any
    signature: str | None
    dataset: dict[str, Any]
    additional: list[Any]
    environment: Any

    @classmethod
    def parse(cls, body: dict[str, Any]) -> "StartRequest":
        dataset = body.get("dataset") if isinstance(body.get("dataset"), dict) else {}
        missing = {f"dataset.{k}": [f"The dataset.{k} field is required."]
                   for k in ("documentId", "serviceId", "transferTxId") if dataset.get(k) in (None, "")}
        if missing:
            raise ValidationError(missing)
        require(body, "consumerAddress", "nonce")
        consumer = address_field(body, "consumerAddress")
        additional = body.get("additionalDatasets", body.get("additionalInputs")) or []
        if not isinstance(additional, list):
            raise WorkflowError("additional_input", "invalid")
        return cls(consumer, body["nonce"], body.get("signature"), dataset, additional, body.get("environment"))


def _resource(position: int) -> str:
    """How the reference names an input in its error codes."""
    return "dataset" if position == 0 else f"datasets[{position}]"


@dataclass
class InputInfo:
    asset: Asset
    index: int
    service: dict[str, Any]
    request: dict[str, Any]


class ComputeService:
    audit = AuditTrail.disabled()  # the provider's trail is set by `services.build_services`

    def __init__(self, settings: Settings, access: AccessService, authenticator: RequestAuthenticator,
                 jobs: JobStore, engine: ComputeEngine):
        self.settings = settings
        self.access = access
        self.authenticator = authenticator
        self.jobs = jobs
        self.engine = engine

    # ---- environments --------------------------------------------------------------------

    def environment(self, env_id: Any) -> Environment | None:
        return self.settings.compute.environment(str(env_id)) if env_id else None

    def fee_token(self, env: Environment, chain) -> str:
        return to_checksum_address(env.fee_tokens.get(chain.chain_id) or chain.fee_token)

    def environments(self, chain_id: Any = None) -> dict[str, list[dict]]:
        chains = [self.access.chains.find(chain_id)] if chain_id not in (None, "") else list(self.access.chains)
        if chains == [None]:
            raise InvalidRequest("Unsupported chain ID")
        now = time.time()
        return {
            str(chain.chain_id): [
                env.as_json(consumer_address=chain.provider_address, fee_token=self.fee_token(env, chain),
                            current_jobs=self.jobs.count_active(env.id), last_seen=now)
                for env in self.settings.compute.environments
            ]
            for chain in chains
        }

    def decimals_of(self, chain, token: str) -> int:
        return chain.token_decimals(token)

    # ---- validation ----------------------------------------------------------------------

    def check_algorithm(self, body: dict[str, Any], env: Environment, consumer: str, *, for_start: bool) -> AlgorithmInfo:
        algorithm = body.get("algorithm")
        if not isinstance(algorithm, dict) or (not algorithm.get("documentId") and not algorithm.get("meta")):
            raise WorkflowError("algorithm", "missing_meta_documentId")
        if algorithm.get("documentId"):
            try:
                asset = self.access.asset(algorithm["documentId"])
            except UnknownAsset:
                raise WorkflowError("algorithm", "file_unavailable" if for_start else "did_not_found") from None
            if (asset.ddo.get("metadata") or {}).get("type") != "algorithm":
                if not for_start:
                    raise InvalidRequest("DID is not a valid algorithm")
                raise WorkflowError("algorithm", "not_algo")
            if algorithm.get("serviceId") in (None, ""):
                raise WorkflowError("algorithm.serviceId", "missing")
            try:
                index, service = self.access.service(asset, algorithm["serviceId"])
            except UnknownService:
                raise WorkflowError("algorithm.serviceId", "not_found") from None
            if for_start:
                try:
                    self.access.require_credentials(asset, consumer)
                except NotConsumable as exc:
                    raise WorkflowError("algorithm.credentials", exc.user_message) from None
            container = ((asset.ddo.get("metadata") or {}).get("algorithm") or {}).get("container") or {}
            file_hashes = self._file_hashes(asset, service)
            info = AlgorithmInfo(asset.did, asset, index, service, container, "".join(file_hashes), algorithm,
                                 file_hashes)
        else:
            meta = algorithm["meta"]
            if not isinstance(meta, dict) or not (meta.get("rawcode") or meta.get("url")):
                raise WorkflowError("algorithm", "meta_oneof_url_rawcode_remote")
            info = AlgorithmInfo(None, None, None, None, meta.get("container") or {}, None, algorithm)
        code = check_container(info.container)
        if code:
            raise WorkflowError("algorithm.container", code)
        if env.runtime_for(str(info.container.get("image")), info.container.get("tag")) is None:
            raise WorkflowError("algorithm.container", "image_not_supported_by_environment")
        return info

    def _file_hashes(self, asset: Asset, service: dict[str, Any]) -> list[str]:
        try:
            files = self.access.service_files(asset, service)
            checksums = []
            for obj in files:
                details = self.access.file_details(validate_file_object(obj), {}, True)
                if not details.valid or details.checksum is None:
                    raise FileUnavailable("algorithm file unavailable")
                checksums.append(details.checksum)
        except (FilesUnreadable, FileObjectError, FileUnavailable):
            raise WorkflowError("algorithm", "file_unavailable") from None
        return checksums

    def check_input(self, item: Any, resource: str, position: int, algorithm: AlgorithmInfo, consumer: str) -> InputInfo:
        if not isinstance(item, dict) or not item.get("documentId"):
            raise WorkflowError(f"{resource}.documentId", "missing")
        if item.get("serviceId") in (None, ""):
            raise WorkflowError(f"{resource}.serviceId", "missing")
        try:
            asset = self.access.asset(item["documentId"])
        except UnknownAsset:
            raise WorkflowError(f"{resource}.documentId", "did_not_found") from None
        try:
            index, service = self.access.service(asset, item["serviceId"])
        except UnknownService:
            raise WorkflowError(f"{resource}.serviceId", "not_found") from None
        try:
            self.access.require_consumable(asset, consumer)
            self.access.require_service_credentials(asset, service, consumer)
        except NotConsumable as exc:
            raise WorkflowError(resource, exc.user_message) from None
        if service.get("type") not in ("access", "compute"):
            raise WorkflowError(f"{resource}.serviceId", "service_not_access_compute")
        if position == 0 and service.get("type") != "compute":
            raise WorkflowError(f"{resource}.serviceId", "main_service_compute")
        if service.get("type") == "compute":
            try:
                self.access.service_files(asset, service)
            except FilesUnreadable:
                raise WorkflowError(f"{resource}.serviceId", "compute_services_not_in_same_provider") from None
            owner = (algorithm.asset.ddo.get("nft") or {}).get("owner") if algorithm.asset else None
            code = check_trust(
                service.get("compute"), algorithm_did=algorithm.did, algorithm_owner=owner,
                files_checksum=algorithm.files_checksum,
                container_checksum=container_section_checksum(algorithm.container) if algorithm.did else None,
                allow_any_published=self.settings.compute.allow_any_published_algorithm)
            if code:
                raise WorkflowError(resource, code)
        return InputInfo(asset, index, service, item)

    def check_order(self, info: InputInfo | AlgorithmInfo, consumer: str, env_id: str | None, *,
               allow_expired_fees: bool = False, wait: float | None = None) -> ValidOrder:
        asset, service, index = info.asset, info.service, (info.index if isinstance(info, InputInfo) else info.service_index)
        tx = str(info.request.get("transferTxId", ""))[:80]
        try:
            order = validate_order(
                asset.chain, tx_id=info.request.get("transferTxId", ""), sender=consumer,
                datatoken=service["datatokenAddress"], service_index=index, service_id=str(service["id"]),
                service_timeout=int(service.get("timeout") or 0), environment=env_id,
                allow_expired_fees=allow_expired_fees, cache=self.access.order_evidence, wait=wait)
        except OrderInvalid as exc:
            self.audit.record("order", did=asset.did, address=consumer, outcome="refused", reason=str(exc),
                              orderTx=tx, use="compute")
            raise
        self.audit.record("order", did=asset.did, address=consumer, orderTx=tx, use="compute")
        return order

    # ---- initializeCompute ---------------------------------------------------------------

    def initialize(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.audit.action("compute.initialize", did=_first_did(body), address=body.get("consumerAddress")):
            return self._initialize(body)

    def _initialize(self, body: dict[str, Any]) -> dict[str, Any]:
        self.require_runnable()  # before anyone pays for a job that could not run
        compute = body.get("compute") if isinstance(body.get("compute"), dict) else {}
        missing = {}
        if not isinstance(body.get("datasets"), list) or not body["datasets"]:
            missing["datasets"] = ["The datasets field is required."]
        if not compute.get("env"):
            missing["compute.env"] = ["The compute.env field is required."]
        if compute.get("validUntil") in (None, ""):
            missing["compute.validUntil"] = ["The compute.validUntil field is required."]
        if missing:
            raise ValidationError(missing)
        consumer = address_field(body, "consumerAddress")
        valid_until = integer_field(compute, "validUntil")
        now = time.time()
        if valid_until <= now:
            raise InvalidRequest("The validUntil value is not correct.")
        env = self.environment(compute["env"])
        if env is None:
            raise InvalidRequest("Compute environment does not exist")
        if valid_until - now > env.max_job_duration + 24 * 3600:
            raise InvalidRequest("The validUntil value is not correct.")
        algorithm = self.check_algorithm(body, env, consumer, for_start=False)
        inputs = [self.check_input(item, _resource(i), i, algorithm, consumer) for i, item in enumerate(body["datasets"])]
        items: list[InputInfo | AlgorithmInfo] = list(inputs) + ([algorithm] if algorithm.did else [])

        orders: dict[int, ValidOrder] = {}
        for position, info in enumerate(items):
            if info.request.get("transferTxId"):
                try:
                    orders[position] = self.check_order(info, consumer, env.id, allow_expired_fees=True,
                                                   wait=self.settings.access.order_wait)
                except OrderPending:
                    raise InvalidRequest("The order transaction is not mined yet; retry once it is.") from None
                except OrderInvalid:
                    pass
        # An order may be offered for reuse as it is only while its fee covers the job and it has
        # never started a job: start refuses a used agreement, so a used order gets a fresh fee
        # (the client reuses it with `reuseOrder`, which makes a new agreement).
        reusable = {p for p, o in orders.items()
                    if int(o.fee["validUntil"]) >= valid_until and not self.jobs.agreement_used(o.agreement_tx)}
        fee_carrier = min(reusable, default=0)
        entries = []
        for position, info in enumerate(items):
            chain = info.asset.chain
            order = orders.get(position)
            if position in reusable:
                entries.append({"validOrder": order.tx_hash})
                continue
            token = self.fee_token(env, chain)
            amount = 0 if position != fee_carrier else compute_fee(
                env.price_per_minute, valid_until - int(now), self.decimals_of(chain, token))
            data = provider_data(env.id, now, info.service["datatokenAddress"], str(info.service["id"]))
            fee = sign_provider_fee(chain.settings.private_key, chain.provider_address, token, amount, data, valid_until)
            entry = {"datatoken": info.service["datatokenAddress"], "providerFee": fee.as_json()}
            if order is not None:
                entry["validOrder"] = order.tx_hash
            entries.append(entry)
        reply: dict[str, Any] = {"datasets": entries[:len(inputs)]}
        if algorithm.did:
            reply["algorithm"] = entries[len(inputs)]
        return reply

    # ---- start ---------------------------------------------------------------------------

    def require_runnable(self) -> None:
        reason = self.engine.why_not_runnable()
        if reason is not None:
            raise DependencyUnavailable(f"Compute cannot run safely on this provider now: {reason}.")

    def start(self, body: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        with self.audit.action("compute.start", did=_first_did(body), address=body.get("consumerAddress")) as entry:
            jobs = self._start(body, auth_token)
            entry.note(jobId=jobs[0]["jobId"], environment=jobs[0].get("environment"))
            return jobs

    def _start(self, body: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        self.require_runnable()
        request = StartRequest.parse(body)
        self.authenticator.authorize(
            signer=request.consumer, nonce=request.nonce, signature=request.signature, auth_token=auth_token,
            message=signed_message("computeStart", consumerAddress=request.consumer,
                                   dataset_documentId=request.dataset["documentId"]))
        env = self.environment(request.environment)
        if env is None:
            raise WorkflowError("environment", "not_found")
        algorithm = self.check_algorithm(body, env, request.consumer, for_start=True)
        inputs = [self.check_input(item, _resource(i), i, algorithm, request.consumer)
                  for i, item in enumerate([request.dataset] + request.additional)]
        orders = self._paid_orders(inputs, algorithm, request.consumer, env)
        now = time.time()
        agreement, max_duration = self._payment(orders, env, inputs[0].asset.chain, now)
        job = self.new_job(request.consumer, env, algorithm, inputs, agreement, max_duration, now)
        try:
            self.jobs.create(job)
        except AgreementInUse:
            raise WorkflowError("order", "agreement_already_used") from None
        return [job.public()]

    def _paid_orders(self, inputs: list[InputInfo], algorithm: AlgorithmInfo, consumer: str,
                     env: Environment) -> list[ValidOrder]:
        """Every input's order (and the published algorithm's) checked on chain."""
        orders = []
        for position, info in enumerate(inputs):
            if not info.request.get("transferTxId"):
                raise WorkflowError(f"{_resource(position)}.transferTxId", "missing")
            try:
                orders.append(self.check_order(info, consumer, env.id))
            except OrderInvalid:
                raise WorkflowError(f"{_resource(position)}.serviceId", "order_invalid") from None
        if algorithm.did:
            try:
                orders.append(self.check_order(algorithm, consumer, None))
            except OrderInvalid:
                raise WorkflowError("algorithm", "in_use_or_not_on_chain") from None
        return orders

    def _payment(self, orders: list[ValidOrder], env: Environment, chain, now: float) -> tuple[str, int]:
        """(agreement id, seconds the job may run): a paid environment needs an order whose fee
        covers the environment's price for the time until the fee's validUntil."""
        if env.free:
            return orders[0].agreement_tx, env.max_job_duration
        valid_until = max(int(o.fee["validUntil"]) for o in orders)
        token = self.fee_token(env, chain)
        required = compute_fee(env.price_per_minute, valid_until - int(now), self.decimals_of(chain, token))
        paying = [o for o in orders if same_address(o.fee["providerFeeToken"], token)
                  and int(o.fee["providerFeeAmount"]) >= required and (o.fee_data.get("environment") == env.id)]
        if not paying or valid_until <= now:
            raise WorkflowError("order", "fees_not_paid")
        return paying[-1].agreement_tx, int(min(env.max_job_duration, valid_until - now))

    def new_job(self, consumer: str, env: Environment, algorithm: AlgorithmInfo, inputs: list[InputInfo],
                 agreement: str, max_duration: int, now: float) -> Job:
        """The job record: what provisioning needs (never a file URL), queued."""
        runtime = env.runtime_for(str(algorithm.container.get("image")), algorithm.container.get("tag"))
        algo_request = dict(algorithm.request)
        spec = {
            "inputs": [{"documentId": i.asset.did, "serviceId": str(i.service["id"]),
                        "transferTxId": i.request.get("transferTxId"), "userdata": i.request.get("userdata")}
                       for i in inputs],
            "algorithm": {k: algo_request.get(k) for k in ("documentId", "serviceId", "transferTxId", "userdata", "meta")
                          if algo_request.get(k) is not None}
            | {"algocustomdata": algo_request.get("algocustomdata", algo_request.get("algouserdata"))}
            | ({"pinned": {"ddo": algorithm.asset.ddo, "sha256": algorithm.file_hashes}} if algorithm.did else {}),
            "container": {k: algorithm.container.get(k) for k in ("entrypoint", "image", "tag", "checksum")},
            "runtime": runtime.commands,
            "network": all(bool((i.service.get("compute") or {}).get("allowNetworkAccess")) for i in inputs),
            "outputPolicy": combined([(i.service.get("compute") or {}).get("outputPolicy") for i in inputs],
                                     self.settings.compute.output_policy).as_json(),
        }
        return Job(
            job_id=uuid.uuid4().hex, owner=to_checksum_address(consumer), did=inputs[0].asset.did,
            algo_did=algorithm.did or "raw", agreement_id=agreement, environment=env.id,
            chain_id=inputs[0].asset.chain.chain_id, status=st.QUEUED, date_created=now, date_started=None,
            date_finished=None, phase_deadline=None, max_duration=max_duration, stop_requested=0, runner=None,
            spec=spec, results=None, termination=None, error=None)

    # ---- the owner's job -----------------------------------------------------------------

    def owned_job(self, job_id: Any, owner: str, *, viewers: bool = False) -> Job:
        """The job if `owner` owns it (or, with `viewers`, is one of its additionalViewers)."""
        job = self.jobs.get(str(job_id)) if job_id and isinstance(job_id, str) else None
        if job is None or not (same_address(job.owner, owner) or (viewers and _views(job, owner))):
            raise NotFound("Job not found")
        return job

    def status(self, params: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        """Signed (owner + jobId + documentId + nonce) or with an AuthToken: the full status.
        Unsigned, as ocean.js asks: only job ids, status and dates (no result names, no logs).
        A signature by anyone but the owner is refused, and a signature's nonce is consumed as
        for every signed action: ocean.py signs status, stop and delete alike, so a status
        signature that could be used again could delete the job (ocean.py fetches a fresh nonce
        for every call, so its polling is unaffected).

        Each job answers in the dialect of the client that started it: the classic shape and
        codes, or Ocean Node's (`node_view`). ocean.js 8 filters by `agreementId` (its own
        tests pass the dataset's DID there); an additional viewer sees the jobs shared with it."""
        consumer = address_field(params, "consumerAddress")
        full = False
        if params.get("signature"):
            self.authenticator.authorize(
                signer=consumer, message=signed_message("computeStatus", consumerAddress=consumer,
                                                        jobId=params.get("jobId"), documentId=params.get("documentId")),
                nonce=params.get("nonce"), signature=params["signature"], allow_token=False)
            full = True
        elif auth_token:
            self.authenticator.verify_token(auth_token, consumer)
            full = True
        if params.get("jobId"):
            jobs = [self.owned_job(params["jobId"], consumer, viewers=True)]
        else:
            jobs = self.jobs.of_owner(to_checksum_address(consumer), params.get("documentId") or None)
        agreement = str(params.get("agreementId") or "").lower()
        if agreement:
            jobs = [j for j in jobs if agreement in (str(j.spec.get("agreementId") or j.agreement_id).lower(),
                                                     j.did.lower())]
        return [job_view(job, full=full) if is_node_job(job) else job.public(full=full) for job in jobs]

    def _authorized_job(self, action: str, params: dict[str, Any], auth_token: str | None, *,
                        viewers: bool = False, **fields) -> Job:
        """The job, once the owner's signature for `action` (or token) is checked and its nonce
        consumed. ocean.js 8 signs the same operations as Ocean Node commands (`address + nonce +
        command`); either form is accepted. With a token and no nonce (ocean.js 8.6.2) the
        token alone authenticates."""
        require(params, "consumerAddress", "jobId")
        consumer = address_field(params, "consumerAddress")
        if not params.get("signature") and auth_token and params.get("nonce") in (None, ""):
            self.authenticator.verify_token(auth_token, consumer)
        else:
            require(params, "nonce")
            self.authenticator.authorize(
                signer=consumer, message=signed_message(action, consumerAddress=consumer, jobId=params["jobId"],
                                                        **fields),
                nonce=params["nonce"], signature=params.get("signature"), auth_token=auth_token,
                node_action=NODE_ACTIONS.get(action), address_as_sent=str(params["consumerAddress"]))
        return self.owned_job(params["jobId"], consumer, viewers=viewers)

    def stop(self, params: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        with self._job_action("compute.stop", params):
            return self._stop(params, auth_token)

    def _job_action(self, name: str, params: dict[str, Any]):
        """The audit entry of an action on a job (the job's DID is filled in once it is found)."""
        return self.audit.action(name, did=_job_did(self.jobs, params.get("jobId")), address=params.get("consumerAddress"),
                                 jobId=str(params.get("jobId"))[:80] if params.get("jobId") else None,
                                 index=params.get("index"))

    def _stop(self, params: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        job = self._authorized_job("computeStop", params, auth_token, documentId=params.get("documentId"))
        if not st.is_terminal(job.status):
            self.jobs.update(job.job_id, stop_requested=1)
        current = self.jobs.get(job.job_id)
        return [job_view(current, full=True) if is_node_job(current) else current.public()]

    def delete(self, params: dict[str, Any], auth_token: str | None) -> dict[str, Any]:
        with self._job_action("compute.delete", params):
            return self._delete(params, auth_token)

    def _delete(self, params: dict[str, Any], auth_token: str | None) -> dict[str, Any]:
        if params.get("nonce") in (None, "") and params.get("signature") and params.get("consumerAddress"):
            # ocean.js 3.x signs consumer + jobId + did + (stored nonce + 1) but does not send the
            # nonce (the reference refused every such delete). The nonce it signed can only be
            # the next one; it is consumed as usual, so the same request cannot be replayed.
            consumer = address_field(params, "consumerAddress")
            stored = self.authenticator.nonces.current(consumer) or Decimal(0)
            params = dict(params, nonce=format_nonce(stored + 1))
        job = self._authorized_job("computeDelete", params, auth_token, documentId=params.get("documentId"))
        if not st.is_terminal(job.status):
            self.jobs.update(job.job_id, stop_requested=1)
            raise InvalidRequest("The job is still running: it was asked to stop; delete it once it has finished.")
        self.engine.delete_files(job.job_id)
        self.jobs.delete(job.job_id)
        return {"deleted": job.job_id}

    def result(self, params: dict[str, Any], auth_token: str | None,
               client_range: str | None = None) -> tuple[Iterator[bytes], str, int, ByteRange | None]:
        with self._job_action("compute.result", params) as entry:
            chunks, filename, size, served = self._result(params, auth_token, client_range)
            entry.note(filename=filename)
            expected = served.end - served.start + 1 if served is not None else size
            return entry.counting(chunks, expected), filename, size, served

    def _result(self, params: dict[str, Any], auth_token: str | None,
                client_range: str | None = None) -> tuple[Iterator[bytes], str, int, ByteRange | None]:
        """One result file: (chunks, filename, total size, the range served or None). Node jobs
        index their results as Ocean Node does (`node_view.node_results`), and may be read by
        their additionalViewers. `Range: bytes=N-` (how ocean.js 8 resumes) is honoured."""
        require(params, "jobId", "index", "consumerAddress")
        index = integer_field(params, "index", minimum=0)
        job = self._authorized_job("computeResult", params, auth_token, viewers=True, index=params["index"])
        entry = self.result_entry(node_results(job) if is_node_job(job) else job.results, index)
        if not readable(job.status, entry["type"], job.spec.get("outputPolicy")):
            raise NotAuthorized("This job's results are held by the publisher's output policy: "
                                f"{st.text(job.status).strip().lower()}.")
        wanted = plan_range(client_range, entry["filesize"]) if client_range else None
        if wanted is None:
            return self.result_chunks(job, entry), entry["filename"], entry["filesize"], wanted
        return (self.result_chunks(job, entry, wanted.start, wanted.end - wanted.start + 1), entry["filename"],
                entry["filesize"], wanted)

    @staticmethod
    def result_entry(results: list[dict[str, Any]] | None, index: int) -> dict[str, Any]:
        if index >= len(results or []):
            raise NotFound("No result with that index for this job.")
        return results[index]

    def result_chunks(self, job: Job, entry: dict[str, Any], start: int = 0,
                      length: int | None = None) -> Iterator[bytes]:
        """The bytes of one result file (`length` of them from `start`; all by default), opened
        now (NotFound when it is gone) and read as the response is sent."""
        try:
            handle = open_result(self.engine.paths(job.job_id), entry)
        except (OSError, ProviderError):
            raise NotFound("The result is no longer available.") from None
        handle.seek(start)
        remaining = [entry["filesize"] - start if length is None else length]

        def chunks() -> Iterator[bytes]:
            with handle:
                while remaining[0] > 0 and (part := handle.read(min(64 * 1024, remaining[0]))):
                    remaining[0] -= len(part)
                    yield part
        return chunks()

    def logs(self, params: dict[str, Any], auth_token: str | None, poll: float = 0.5) -> Iterator[bytes]:
        """The algorithm's output as it is written, until the job leaves the running phases."""
        with self._job_action("compute.logs", params) as entry:
            job = self._authorized_job("computeStreamableLogs", params, auth_token, viewers=True)
            if (job.spec.get("outputPolicy") or {}).get("review") == "manual":
                raise NotAuthorized("The publisher reviews this job's outputs before they leave: its algorithm's "
                                    "log is read once they are released.")
            return entry.counting(self.follow_logs(job.job_id, poll))

    def follow_logs(self, job_id: str, poll: float = 0.5, *, follow: bool = True) -> Iterator[bytes]:
        """Chunks of the algorithm's log as they appear, until the job has ended, or (follow=False)
        what is written so far. No owner check: for the signed endpoint above and the operator's CLI."""
        path = self.engine.paths(job_id).provider_logs / "algorithm.log"

        def follow_log() -> Iterator[bytes]:
            position = 0
            while True:
                current = self.jobs.get(job_id)
                if path.exists():
                    with open(path, "rb") as handle:
                        handle.seek(position)
                        data = handle.read()
                        position += len(data)
                    if data:
                        yield data
                if not follow or current is None or st.is_terminal(current.status):
                    return
                time.sleep(poll)
        return follow_log()

    def request_stop(self, job_id: str) -> Job:
        """The operator's stop: the same flag the owner's computeStop sets; the engine ends the job."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound("No job with this id.")
        if not st.is_terminal(job.status):
            self.jobs.update(job_id, stop_requested=1)
        return self.jobs.get(job_id) or job

"""Resource-priced and free compute (Ocean Node's C2D v2, what ocean.js 8 drives).

The same jobs, store, engine and checks as the classic API (`ComputeService`): the asset,
credential, trust and container checks are its own, and the job record is the one the engine
runs. What differs is the payment: a job is granted resources (`pricing.grant`), priced per
resource per minute, and paid through the Escrow contract: at start the provider checks the
consumer's authorisation and funds and locks the job's maximum cost from its own key; once
the job has ended, `compute.settlement` claims what the algorithm's run cost. Datatoken orders
are still required for every asset (they are the publisher's price for access); their
provider fee carries no compute price. Free jobs need no escrow: the environment's free tier
gives smaller limits to the addresses its access list admits, a few jobs an hour each.

Departures from Ocean Node, each on purpose:
- a free job still needs a valid order for each dataset (the publisher's price for access
  holds whoever pays for the compute), unless the operator sets `free_requires_order = false`;
- an order is valid when its consumer or its payer is the job's owner (ocean.js orders with
  the provider as consumer, paid by the user); Ocean Node accepts any order whose consumer is
  the node, so anyone could start jobs on an order someone else paid for.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils import to_checksum_address

from provider.access.consumable import NotConsumable
from provider.access.fees import provider_data, sign_provider_fee
from provider.access.orders import OrderInvalid, OrderPending
from provider.auth.signatures import same_address
from provider.chain.escrow import Escrow, EscrowRefused
from provider.chain.outbox import TransactionOutbox
from provider.compute import status as st
from provider.compute.environments import Environment
from provider.compute.jobs import Job
from provider.compute.node_view import NODE_DIALECT, environment_view, job_view
from provider.compute.remote_output import open_output_target
from provider.compute.pricing import (
    Grant, cost, grant, lock_id, lock_refusal, min_lock_seconds, plain_number,
)
from provider.compute.scheduling import in_use, is_free_job
from provider.compute.service import AlgorithmInfo, ComputeService, InputInfo
from provider.compute.validation import WorkflowError
from provider.errors import InvalidRequest, NotAuthorized, RateLimited
from provider.validation import address_field

MAX_METADATA_BYTES = 1024
MAX_VIEWERS = 20


@dataclass(frozen=True)
class PricedRequest:
    """initializeCompute / computeStart / freeCompute of ocean.js 8, parsed and bounded."""
    consumer: str
    address_as_sent: str
    environment: str
    datasets: list[dict[str, Any]]
    algorithm: dict[str, Any]
    chain_id: int | None
    token: str | None
    resources: list[Any]
    max_job_duration: int | None
    queue_max_wait: int
    metadata: Any
    additional_viewers: tuple[str, ...]
    nonce: Any
    signature: str | None
    output: str | None = None           # ECIES hex to nodePublicKey: where to send the results

    @classmethod
    def parse(cls, body: dict[str, Any], *, paid: bool) -> "PricedRequest":
        missing = [k for k in ("datasets", "algorithm", "environment", "consumerAddress") if not body.get(k)]
        payment = body.get("payment") if isinstance(body.get("payment"), dict) else None
        if paid and (payment is None or payment.get("chainId") in (None, "") or not payment.get("token")):
            missing.append("payment.chainId and payment.token")
        if missing:
            raise InvalidRequest(f"Missing required parameter(s): {', '.join(missing)}")
        datasets = body["datasets"]
        if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets) or len(datasets) > 20:
            raise InvalidRequest("datasets must be a list of at most 20 objects")
        if not isinstance(body["algorithm"], dict):
            raise InvalidRequest("algorithm must be an object")
        address = address_field(body, "consumerAddress")
        chain_id = token = None
        if payment is not None:
            try:
                chain_id = int(payment["chainId"]) if payment.get("chainId") not in (None, "") else None
            except (TypeError, ValueError):
                raise InvalidRequest("payment.chainId must be a number") from None
            token = payment.get("token")
            if token is not None and (not isinstance(token, str) or len(token) != 42 or not token.startswith("0x")):
                raise InvalidRequest("payment.token must be an address")
        resources = body.get("resources", (payment or {}).get("resources")) or []
        if not isinstance(resources, list) or len(resources) > 32:
            raise InvalidRequest("resources must be a list of {id, amount}")
        metadata = body.get("metadata")
        if metadata is not None and len(json.dumps(metadata)) > MAX_METADATA_BYTES:
            raise InvalidRequest(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
        viewers = body.get("additionalViewers") or []
        if not isinstance(viewers, list) or len(viewers) > MAX_VIEWERS:
            raise InvalidRequest(f"additionalViewers must be a list of at most {MAX_VIEWERS} addresses")
        checked_viewers = tuple(to_checksum_address(address_field({"additionalViewers": v}, "additionalViewers"))
                                for v in viewers)
        output = body.get("output")
        if output is not None and output != "" and (not isinstance(output, str) or len(output) > 16384 or any(
                c not in "0123456789abcdefABCDEF" for c in output.removeprefix("0x"))):
            raise InvalidRequest("output must be the hex of an ECIES ciphertext to nodePublicKey")
        return cls(
            output=output.removeprefix("0x") if output else None,
            consumer=to_checksum_address(address), address_as_sent=str(body["consumerAddress"]),
            environment=str(body["environment"]), datasets=datasets, algorithm=body["algorithm"],
            chain_id=chain_id, token=token, resources=resources,
            max_job_duration=_seconds(body.get("maxJobDuration"), "maxJobDuration"),
            queue_max_wait=_seconds(body.get("queueMaxWaitTime"), "queueMaxWaitTime") or 0,
            metadata=metadata, additional_viewers=checked_viewers,
            nonce=body.get("nonce"), signature=body.get("signature") or None)


def _seconds(value: Any, name: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        number = int(Decimal(str(value)))
    except ArithmeticError:
        raise InvalidRequest(f"{name} must be a number of seconds") from None
    if number < 0 or number > 10 ** 12:
        raise InvalidRequest(f"{name} must be a number of seconds")
    return number


def job_duration(requested: int | None, env_max: int, env_min: int) -> int:
    """Ocean Node's rule: absent or above the environment's maximum means the maximum (ocean.js's
    own tests pass a unix time here), never below the environment's minimum."""
    duration = env_max if not requested or requested > env_max else requested
    return max(duration, env_min)


def new_job_id() -> str:
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


class PricedComputeService:
    def __init__(self, compute: ComputeService, outbox: TransactionOutbox, *, free_requires_order: bool = True):
        self.compute = compute
        self.outbox = outbox
        self.free_requires_order = free_requires_order

    @property
    def jobs(self):
        return self.compute.jobs

    # ---- environments --------------------------------------------------------------------

    def environments(self, chain_id: Any = None) -> list[dict[str, Any]]:
        chains = list(self.compute.access.chains)
        if chain_id not in (None, ""):
            chains = [c for c in chains if str(c.chain_id) == str(chain_id)]
            if not chains:
                raise InvalidRequest("Unsupported chain ID")
        live = self.jobs.with_status([st.QUEUED, *st.ACTIVE])
        now = time.time()
        consumer = chains[0].provider_address if chains else None
        return [environment_view(env, fee_tokens={c.chain_id: self.compute.fee_token(env, c) for c in chains},
                                 consumer_address=consumer, live_jobs=live, now=now)
                for env in self.compute.settings.compute.environments]

    # ---- shared checks -------------------------------------------------------------------

    def _environment(self, request: PricedRequest, *, free: bool) -> Environment:
        env = self.compute.environment(request.environment)
        if env is None:
            raise InvalidRequest("Compute environment does not exist")
        if free and env.free_tier is None:
            raise InvalidRequest("This compute environment offers no free compute")
        if not env.admits(request.consumer, free=free):
            raise NotAuthorized("This address is not allowed to run jobs in this compute environment")
        return env

    def _chain_and_token(self, request: PricedRequest, env: Environment):
        chain = self.compute.access.chains.find(request.chain_id)
        if chain is None:
            raise InvalidRequest(f"This compute env does not accept payments on chain {request.chain_id}")
        token = self.compute.fee_token(env, chain)
        if not same_address(token, request.token):
            raise InvalidRequest(f"This compute env does not accept payments on chain {chain.chain_id} "
                                 f"with token {request.token}")
        return chain, token

    def _assets(self, request: PricedRequest, env: Environment, *, for_start: bool) -> tuple[AlgorithmInfo,
                                                                                               list[InputInfo]]:
        """The classic checks, all of them, before anything is paid: algorithm (container,
        runtime, credentials), each dataset (state, credentials, service, trust)."""
        algorithm = self.compute.check_algorithm({"algorithm": request.algorithm}, env, request.consumer,
                                                 for_start=for_start)
        if algorithm.asset is not None and not for_start:
            try:
                self.compute.access.require_credentials(algorithm.asset, request.consumer)
            except NotConsumable as exc:
                raise WorkflowError("algorithm.credentials", exc.user_message) from None
        inputs = [self.compute.check_input(item, f"datasets[{i}]" if i else "dataset", i, algorithm, request.consumer)
                  for i, item in enumerate(request.datasets)]
        return algorithm, inputs

    def _grant(self, env: Environment, request: PricedRequest, *, free: bool, now_free: bool) -> Grant:
        live = self.jobs.with_status([st.QUEUED, *st.ACTIVE]) if now_free else []
        offered = env.free_resources() if free else env.offered_resources
        return grant(offered, request.resources, in_use(live, env) if now_free else None)

    # ---- initializeCompute ---------------------------------------------------------------

    def _action(self, name: str, body: dict[str, Any]):
        datasets = body.get("datasets")
        first = datasets[0] if isinstance(datasets, list) and datasets and isinstance(datasets[0], dict) else {}
        return self.compute.audit.action(name, did=first.get("documentId"), address=body.get("consumerAddress"),
                                         environment=str(body.get("environment"))[:100] if body.get("environment")
                                         else None)

    def initialize(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._action("compute.initialize", body):
            return self._initialize(body)

    def start(self, body: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        with self._action("compute.start", body) as entry:
            jobs = self._start(body, auth_token)
            entry.note(jobId=jobs[0]["jobId"], lockTx=(jobs[0].get("payment") or {}).get("lockTx"))
            return jobs

    def start_free(self, body: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        with self._action("compute.start", body) as entry:
            jobs = self._start_free(body, auth_token)
            entry.note(jobId=jobs[0]["jobId"], free=True)
            return jobs

    def _initialize(self, body: dict[str, Any]) -> dict[str, Any]:
        self.compute.require_runnable()
        request = PricedRequest.parse(body, paid=True)
        env = self._environment(request, free=False)
        chain, token = self._chain_and_token(request, env)
        algorithm, inputs = self._assets(request, env, for_start=False)
        granted = self._grant(env, request, free=False, now_free=True)
        duration = job_duration(request.max_job_duration, env.max_job_duration, env.min_job_duration)
        amount = cost(env.price_on(token), granted, duration, env.min_job_duration, chain.token_decimals(token))
        now = time.time()
        items = [(i.asset, i.service, i.index, i.request) for i in inputs]
        reply: dict[str, Any] = {"datasets": [self._order_offer(*item, request.consumer, env, now) for item in items]}
        if algorithm.asset is not None:
            reply["algorithm"] = self._order_offer(algorithm.asset, algorithm.service, algorithm.service_index,
                                                   algorithm.request, request.consumer, env, now)
        else:
            reply["algorithm"] = {"validOrder": False}
        escrow = Escrow(chain, self.outbox)
        reply["payment"] = {"escrowAddress": escrow.address, "payee": chain.provider_address,
                            "chainId": chain.chain_id,
                            "minLockSeconds": min_lock_seconds(duration, request.queue_max_wait),
                            "token": request.token, "amount": str(amount)}
        return reply

    def _order_offer(self, asset, service, index, item, consumer, env, now) -> dict[str, Any]:
        """Ocean Node's order reuse (§3.6): a valid order whose provider fee is still valid is
        reused as it is; a valid order whose fee expired gets a fresh fee (reuseOrder); no valid
        order: a fee for a new one. The fee carries no compute price (escrow pays for compute)."""
        chain = asset.chain
        offer: dict[str, Any] = {"did": asset.did, "serviceId": str(service["id"]),
                                 "datatoken": service["datatokenAddress"], "chainId": chain.chain_id,
                                 "consumerAddress": chain.provider_address, "validOrder": False}
        if item.get("transferTxId"):
            try:
                order = self.compute.check_order(InputInfo(asset, index, service, item), consumer, None,
                                                 allow_expired_fees=True,
                                                 wait=self.compute.settings.access.order_wait)
            except OrderPending:
                raise InvalidRequest("The order transaction is not mined yet; retry once it is.") from None
            except OrderInvalid:
                order = None
            if order is not None:
                offer["validOrder"] = order.agreement_tx
                fee_until = int(order.fee["validUntil"])
                if fee_until == 0 or now <= fee_until:
                    return offer
        timeout = int(service.get("timeout") or 0)
        fee = sign_provider_fee(chain.settings.private_key, chain.provider_address, self.compute.fee_token(env, chain),
                                0, provider_data(env.id, now, service["datatokenAddress"], str(service["id"])),
                                int(now) + timeout if timeout else 0)
        offer["providerFee"] = fee.as_json()
        return offer

    # ---- start ---------------------------------------------------------------------------

    def _authorize(self, request: PricedRequest, action: str, auth_token: str | None) -> None:
        if request.signature:
            self.compute.authenticator.authorize(
                signer=request.consumer, message=None, nonce=request.nonce, signature=request.signature,
                allow_token=False, node_action=action, address_as_sent=request.address_as_sent)
        elif auth_token:
            self.compute.authenticator.verify_token(auth_token, request.consumer)
        else:
            self.compute.authenticator.authorize(signer=request.consumer, message=None, nonce=request.nonce,
                                                 signature=None, node_action=action)

    def _orders(self, algorithm: AlgorithmInfo, inputs: list[InputInfo], consumer: str, *, required: bool) -> list:
        """Every asset's order, checked on chain (its fee may have expired: compute is paid apart)."""
        orders = []
        for position, info in enumerate([*inputs, algorithm] if algorithm.asset is not None else inputs):
            name = "algorithm" if info is algorithm else (f"datasets[{position}]" if position else "dataset")
            if not info.request.get("transferTxId"):
                if required:
                    raise WorkflowError(f"{name}.transferTxId", "missing")
                continue
            try:
                orders.append(self.compute.check_order(info, consumer, None, allow_expired_fees=True))
            except OrderInvalid as exc:
                raise InvalidRequest(f"{name}: the order is not valid: {exc.user_message}") from None
        return orders

    def _start(self, body: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        self.compute.require_runnable()
        request = PricedRequest.parse(body, paid=True)
        self._authorize(request, "startCompute", auth_token)
        env = self._environment(request, free=False)
        chain, token = self._chain_and_token(request, env)
        algorithm, inputs = self._assets(request, env, for_start=True)
        granted = self._grant(env, request, free=False, now_free=False)
        orders = self._orders(algorithm, inputs, request.consumer, required=True)
        duration = job_duration(request.max_job_duration, env.max_job_duration, env.min_job_duration)
        if request.queue_max_wait > env.max_queue_wait:
            raise InvalidRequest(f"queueMaxWaitTime may be at most {env.max_queue_wait} seconds here")
        amount = cost(env.price_on(token), granted, duration, env.min_job_duration, chain.token_decimals(token))
        output = self._output_target(request)  # a bad target is refused before the lock
        job_id = new_job_id()
        expiry = min_lock_seconds(duration, request.queue_max_wait)
        payment: dict[str, Any] = {"chainId": chain.chain_id, "token": to_checksum_address(token), "amount": str(amount),
                                   "lockId": str(lock_id(job_id)), "expiry": expiry, "lockTx": None,
                                   "claimTx": None, "cancelTx": None, "cost": "0"}
        escrow = Escrow(chain, self.outbox)
        if amount > 0:
            refusal = lock_refusal(escrow.authorizations(token, request.consumer),
                                   escrow.funds(request.consumer, token)[0], amount, expiry)
            if refusal:
                raise InvalidRequest(refusal)
            try:
                payment["lockTx"] = escrow.create_lock(lock_id(job_id), token, request.consumer, amount, expiry,
                                                       purpose=f"lock:{job_id}")
            except EscrowRefused as exc:
                raise InvalidRequest(exc.user_message) from None
        else:
            payment.update(claimTx="nolock", cancelTx="nolock")
        job = self._job(job_id, request, env, algorithm, inputs, granted, duration, orders, free=False,
                        prices={rid: str(p) for rid, p in env.unit_prices.items()}, payment=payment, output=output)
        return [job_view(job, full=True)]

    def _start_free(self, body: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        self.compute.require_runnable()
        request = PricedRequest.parse(body, paid=False)
        self._authorize(request, "freeStartCompute", auth_token)
        env = self._environment(request, free=True)
        tier = env.free_tier
        hour_ago = time.time() - 3600
        recent = [j for j in self.jobs.of_owner(request.consumer) if is_free_job(j) and j.date_created > hour_ago]
        if len(recent) >= tier.jobs_per_hour:
            raise RateLimited(f"At most {tier.jobs_per_hour} free jobs an hour per address", retry_after=60)
        algorithm, inputs = self._assets(request, env, for_start=True)
        granted = self._grant(env, request, free=True, now_free=False)
        orders = self._orders(algorithm, inputs, request.consumer, required=self.free_requires_order)
        duration = job_duration(request.max_job_duration, tier.max_job_duration, tier.min_job_duration)
        job = self._job(new_job_id(), request, env, algorithm, inputs, granted, duration, orders, free=True,
                        prices={}, payment=None, output=self._output_target(request))
        return [job_view(job, full=True)]

    def _output_target(self, request: PricedRequest) -> str | None:
        """The encrypted output target, checked now (it must decrypt and name a url storage) and
        kept encrypted with the job."""
        if not request.output:
            return None
        open_output_target(next(iter(self.compute.access.chains)).settings.private_key, request.output)
        return request.output

    def _job(self, job_id: str, request: PricedRequest, env: Environment, algorithm: AlgorithmInfo,
             inputs: list[InputInfo], granted: Grant, duration: int, orders: list, *, free: bool,
             prices: dict[str, str], payment: dict | None, output: str | None) -> Job:
        now = time.time()
        job = self.compute.new_job(request.consumer, env, algorithm, inputs, f"node:{job_id}", duration, now)
        job.job_id = job_id
        job.spec.update(
            dialect=NODE_DIALECT, free=free,
            resources={rid: plain_number(a) for rid, a in granted.amounts.items()}, prices=prices,
            jobIdHash=hashlib.sha256(job_id.encode()).hexdigest(),
            agreementId=orders[0].agreement_tx if orders else None,
            metadata=request.metadata, additionalViewers=list(request.additional_viewers),
            queueMaxWaitTime=request.queue_max_wait, payment=payment, output=output)
        if payment is not None:
            job.chain_id = payment["chainId"]
        self.jobs.create(job)
        return job

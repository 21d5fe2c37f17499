"""The object graph of one provider process, built once from `Settings`.

Stores and engines are chosen by configuration here and nowhere else (SQLite or Redis for
nonces and revocations; the built-in indexer or an external Aquarius for DDOs).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import redis

from provider.console import ConsoleAccess
from provider.access.fetch import SafeFetcher
from provider.access.netpolicy import AddressPolicy
from provider.access.service import AccessService
from provider.access.sources import FileSources

from provider.auth.service import RequestAuthenticator
from provider.auth.tokens import AuthTokens
from provider.chain.client import Chains
from provider.chain.wallets import ContractWallets
from provider.ddo.publish import PublishingValidator
from provider.compute.engine import LocalSandboxEngine
from provider.compute.jobs import SqliteJobStore
from provider.compute.interfaces import ComputeEngine
from provider.compute.pipeline import Provisioner
from provider.compute.priced import PricedComputeService
from provider.compute.service import ComputeService
from provider.compute.receipts import ReceiptStore
from provider.compute.review import OutputReview
from provider.compute.settlement import Settlement
from provider.chain.outbox import TransactionOutbox
from provider.config import Settings
from provider.ddo.decrypt import DecryptService
from provider.ddo.indexer import ChainIndexer, IndexerThread
from provider.ddo.resolver import AssetResolver
from provider.ddo.store import AssetStore
from provider.ratelimit import RateLimiter
from provider.stores.ratecounters import MemoryRateCounter, RedisRateCounter
from provider.stores.nonces import NonceStore, RedisNonceStore, SqliteNonceStore
from provider.stores.revocations import RedisRevocationStore, RevocationStore, SqliteRevocationStore
from provider.audit import PublisherAudit
from provider.stores.audit import AuditTrail, RedisAuditLog, SqliteAuditLog
from provider.stores.leases import Leases
from provider.stores.sqlite import Database
from provider.supervisor import engine_is_supervised


@dataclass
class ProviderServices:
    settings: Settings
    db: Database
    chains: Chains
    nonces: NonceStore
    tokens: AuthTokens
    authenticator: RequestAuthenticator
    assets: AssetStore
    indexers: list[ChainIndexer]
    resolver: AssetResolver
    decryptor: DecryptService
    access: AccessService
    compute: ComputeService | None
    priced: PricedComputeService | None
    engine: ComputeEngine | None
    rate_limiter: RateLimiter
    publishing: PublishingValidator
    audit: AuditTrail
    publisher_audit: PublisherAudit
    review: OutputReview | None
    console: ConsoleAccess | None = None   # None: the operator console is off
    background: list = field(default_factory=list)

    def start_background(self) -> None:
        if self.settings.indexer.enabled and not self.settings.indexer.aquarius_url and not self.background:
            thread = IndexerThread(self.indexers, self.settings.indexer.poll_interval)
            thread.start()
            self.background.append(thread)
        if self.engine is not None and self.engine not in self.background and not engine_is_supervised():
            # Without a supervisor (a bare `create_app` with background work) the engine runs here.
            self.engine.start()
            self.background.append(self.engine)

    def stop_background(self, grace: float = 0.0) -> None:
        """Stop the indexer and the engine; running compute jobs get `grace` seconds to end.
        Leases are released, so another process takes the work over at once."""
        for worker in self.background:
            if worker is not self.engine:
                worker.stop()
        for worker in self.background:
            if worker is self.engine:
                worker.shutdown(grace)
            else:
                worker.join(timeout=5)
        for indexer in self.indexers:
            indexer.release()
        self.background.clear()


def _kubernetes_engine(settings: Settings, provisioner: Provisioner):
    """The cluster from the in-cluster service account, or KUBECONFIG outside a cluster."""
    import os

    from kubernetes import client, config as kube_config

    from provider.compute.k8s.cluster import ClusterApi
    from provider.compute.k8s.jobstore import ClusterJobStore
    from provider.compute.k8s.orchestrator import KubernetesJobEngine
    from provider.errors import ConfigurationError

    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            kube_config.load_incluster_config()
        else:
            kube_config.load_kube_config()
    except Exception as exc:
        raise ConfigurationError(f"COMPUTE_ENGINE=kubernetes but no cluster configuration: {exc}") from None
    cluster = settings.compute.kubernetes
    api = ClusterApi(client.ApiClient(), cluster.namespace)
    return KubernetesJobEngine(settings.compute, cluster, ClusterJobStore(api), api, provisioner)


def build_services(settings: Settings) -> ProviderServices:
    db = Database(settings.storage.sqlite_path, settings.storage.durability)
    nonces: NonceStore
    revocations: RevocationStore
    if settings.storage.redis_url:
        redis_client = redis.Redis.from_url(settings.storage.redis_url, socket_timeout=5)
        nonces, revocations = RedisNonceStore(redis_client), RedisRevocationStore(redis_client)
        rate_counter = RedisRateCounter(redis_client)
    else:
        nonces, revocations = SqliteNonceStore(db), SqliteRevocationStore(db)
        rate_counter = MemoryRateCounter()
    chains = Chains(settings)
    tokens = AuthTokens(settings.universal_private_key, revocations, settings.limits.token_max_lifetime)
    rate_limiter = RateLimiter(settings.limits, rate_counter)
    authenticator = RequestAuthenticator(nonces, tokens, on_verified=rate_limiter.enforce_address,
                                         contract_signatures=ContractWallets(chains).accepts)
    assets = AssetStore(db)
    leases = Leases(db)
    indexers = [ChainIndexer(chain, assets, leases, settings.indexer) for chain in chains]
    resolver = AssetResolver(assets, indexers, settings.indexer.aquarius_url, settings.access.request_timeout)
    fetcher = SafeFetcher(AddressPolicy(allow_non_public=settings.access.allow_non_public_ip),
                          connect_timeout=settings.access.request_timeout,
                          read_timeout=max(settings.access.request_timeout, 30))
    access = AccessService(chains, resolver, authenticator, nonces, FileSources(fetcher, chains, settings.access),
                           settings.access)
    engine = compute = priced = None
    if settings.compute.enabled:
        provisioner = Provisioner(access, access.sources, file_deadline=settings.compute.provision_timeout)
        if settings.compute.engine == "kubernetes":
            engine = _kubernetes_engine(settings, provisioner)
            jobs = engine.store  # job records live in the cluster, shared by every replica
        else:
            jobs = SqliteJobStore(db)
            engine = LocalSandboxEngine(settings.compute, jobs, leases, provisioner)
        compute = ComputeService(settings, access, authenticator, jobs, engine)
        outbox = TransactionOutbox(db, settings.receipt_timeout)
        priced = PricedComputeService(compute, outbox, free_requires_order=settings.compute.free_requires_order)
        engine.settlement = Settlement(settings.compute, jobs, chains, outbox, engine.paths, fetcher=fetcher,
                                       upload_deadline=settings.compute.publish_timeout,
                                       receipts=ReceiptStore(db))
    audit_log = None
    if settings.audit.enabled:
        audit_log = RedisAuditLog(redis_client) if settings.storage.redis_url else SqliteAuditLog(db)
    audit = AuditTrail(audit_log,
                       hash_clients=settings.audit.hash_client_addresses,
                       salt=hashlib.sha256(b"audit-client:" + settings.universal_private_key.encode()).hexdigest(),
                       retention_seconds=settings.audit.retention_days * 86400)
    decryptor = DecryptService(chains, authenticator, settings.authorized_decrypters, settings.limits.max_document_bytes)
    for service in (access, compute, decryptor):
        if service is not None:
            service.audit = audit
    return ProviderServices(
        settings=settings, db=db, chains=chains, nonces=nonces, tokens=tokens,
        authenticator=authenticator, assets=assets, indexers=indexers, resolver=resolver,
        decryptor=decryptor,
        audit=audit,
        publisher_audit=PublisherAudit(access, authenticator, audit),
        review=OutputReview(compute) if compute is not None else None,
        access=access,
        compute=compute,
        priced=priced,
        engine=engine,
        rate_limiter=rate_limiter,
        publishing=PublishingValidator(chains, authenticator),
        console=(ConsoleAccess(settings.console, settings.universal_private_key, settings.development, authenticator)
                 if settings.console.enabled else None),
    )

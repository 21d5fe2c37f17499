"""Typed settings, loaded once.

`config.ini` holds every default; an environment variable overrides a key (the variable's
name is written next to the key in the file, and listed in `_ENV` below). The result is one
frozen `Settings` object handed to `create_app`; nothing reads the environment afterwards.
"""
from __future__ import annotations

import configparser
import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from provider.chain.contracts import bundled_address_file
from provider.compute.environments import Environment, load_environments
from provider.compute.output_gate import REVIEW_MODES, OutputPolicy
from provider.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INI = PROJECT_ROOT / "config.ini"
BARGE_ADDRESS_FILE = Path.home() / ".ocean" / "ocean-contracts" / "artifacts" / "address.json"
DEVELOPMENT_CHAIN_ID = 8996

# (section, key) -> environment variable that overrides it.
_ENV: dict[tuple[str, str], str] = {
    ("provider", "mode"): "PROVIDER_MODE",
    ("provider", "bind"): "PROVIDER_BIND",
    ("provider", "public_url"): "PROVIDER_URL",
    ("provider", "authorized_decrypters"): "AUTHORIZED_DECRYPTERS",
    ("provider", "log_level"): "LOG_LEVEL",
    ("provider", "log_format"): "LOG_FORMAT",
    ("provider", "shutdown_grace"): "SHUTDOWN_GRACE",
    ("provider", "workers"): "PROVIDER_WORKERS",
    ("provider", "worker_timeout"): "GUNICORN_TIMEOUT",
    ("provider", "threads"): "GUNICORN_THREADS",
    ("limits", "max_body_bytes"): "MAX_BODY_BYTES",
    ("limits", "rate_per_ip"): "RATE_LIMIT_PER_IP",
    ("limits", "rate_per_address"): "RATE_LIMIT_PER_ADDRESS",
    ("limits", "rate_window"): "RATE_LIMIT_WINDOW",
    ("limits", "proxy_hops"): "TRUSTED_PROXY_HOPS",
    ("limits", "token_max_lifetime"): "AUTH_TOKEN_MAX_LIFETIME",
    ("chain", "network_url"): "NETWORK_URL",
    ("chain", "private_key"): "PROVIDER_PRIVATE_KEY",
    ("chain", "universal_private_key"): "UNIVERSAL_PRIVATE_KEY",
    ("chain", "chain_id"): "CHAIN_ID",
    ("chain", "address_file"): "ADDRESS_FILE",
    ("chain", "provider_fee_token"): "PROVIDER_FEE_TOKEN",
    ("chain", "receipt_timeout"): "RECEIPT_TIMEOUT",
    ("storage", "path"): "STORAGE_PATH",
    ("storage", "redis_connection"): "REDIS_CONNECTION",
    ("storage", "durability"): "STORAGE_DURABILITY",
    ("audit", "enabled"): "AUDIT_ENABLED",
    ("audit", "hash_client_addresses"): "AUDIT_HASH_CLIENT_ADDRESSES",
    ("audit", "retention_days"): "AUDIT_RETENTION_DAYS",
    ("console", "enabled"): "CONSOLE_ENABLED",
    ("console", "token"): "CONSOLE_TOKEN",
    ("console", "admin_addresses"): "CONSOLE_ADMIN_ADDRESSES",
    ("indexer", "aquarius_url"): "AQUARIUS_URL",
    ("indexer", "enabled"): "INDEXER_ENABLED",
    ("indexer", "poll_interval"): "INDEXER_POLL_INTERVAL",
    ("indexer", "batch_blocks"): "INDEXER_BATCH_BLOCKS",
    ("indexer", "start_block"): "INDEXER_START_BLOCK",
    ("indexer", "lease_seconds"): "INDEXER_LEASE_SECONDS",
    ("access", "allow_non_public_ip"): "ALLOW_NON_PUBLIC_IP",
    ("access", "request_timeout"): "REQUEST_TIMEOUT",
    ("access", "fetch_timeout"): "FETCH_TIMEOUT",
    ("access", "download_min_rate"): "DOWNLOAD_MIN_RATE",
    ("access", "order_wait"): "ORDER_WAIT",
    ("access", "max_checksum_length"): "MAX_CHECKSUM_LENGTH",
    ("access", "ipfs_gateway"): "IPFS_GATEWAY",
    ("access", "arweave_gateway"): "ARWEAVE_GATEWAY",
    ("access", "order_finality_seconds"): "ORDER_FINALITY_SECONDS",
    ("development", "order_finality_seconds"): "DEV_ORDER_FINALITY_SECONDS",
    ("compute", "engine"): "COMPUTE_ENGINE",
    ("compute", "jobs_path"): "COMPUTE_JOBS_PATH",
    ("compute", "sandbox_user"): "COMPUTE_SANDBOX_USER",
    ("compute", "allow_any_published_algorithm"): "COMPUTE_ALLOW_ANY_PUBLISHED_ALGORITHM",
    ("compute", "scheduler_interval"): "COMPUTE_SCHEDULER_INTERVAL",
    ("compute", "provision_timeout"): "COMPUTE_PROVISION_TIMEOUT",
    ("compute", "publish_timeout"): "COMPUTE_PUBLISH_TIMEOUT",
    ("compute", "enabled"): "COMPUTE_ENABLED",
    ("compute", "unsafe_no_cgroups"): "COMPUTE_UNSAFE_NO_CGROUPS",
    ("compute", "free_requires_order"): "COMPUTE_FREE_REQUIRES_ORDER",
    ("compute", "output_max_bytes"): "COMPUTE_OUTPUT_MAX_BYTES",
    ("compute", "output_max_files"): "COMPUTE_OUTPUT_MAX_FILES",
    ("compute", "output_allowed_types"): "COMPUTE_OUTPUT_ALLOWED_TYPES",
    ("compute", "output_review"): "COMPUTE_OUTPUT_REVIEW",
    ("compute.kubernetes", "namespace"): "K8S_NAMESPACE",
    ("compute.kubernetes", "provider_image"): "K8S_PROVIDER_IMAGE",
    ("compute.kubernetes", "internal_url"): "K8S_INTERNAL_URL",
    ("compute.kubernetes", "storage_class"): "K8S_STORAGE_CLASS",
    ("compute.kubernetes", "image_pull_secret"): "K8S_IMAGE_PULL_SECRET",
    ("compute.kubernetes", "node_selector"): "K8S_NODE_SELECTOR",
    ("compute.kubernetes", "seccomp_profile"): "K8S_SECCOMP_PROFILE",
    ("development", "mnemonic"): "DEV_MNEMONIC",
    ("development", "provider_account_index"): "DEV_PROVIDER_ACCOUNT_INDEX",
    ("development", "allow_non_public_ip"): "DEV_ALLOW_NON_PUBLIC_IP",
}


@dataclass(frozen=True)
class ChainSettings:
    chain_id: int
    rpc_url: str
    private_key: str = field(repr=False)
    fee_token: str | None  # None: OCEAN from the address file


@dataclass(frozen=True)
class StorageSettings:
    sqlite_path: Path
    redis_url: str | None
    durability: str = "process"   # "process": survives a killed process; "power": also power loss


@dataclass(frozen=True)
class AuditSettings:
    enabled: bool = True
    hash_client_addresses: bool = False
    retention_days: float = 365


@dataclass(frozen=True)
class ConsoleSettings:
    """The operator console (GET /console). Served when `enabled` is true, or when it is auto
    (empty) and either the mode is development or a token or admin address is configured."""
    enabled: bool = False
    token: str | None = field(default=None, repr=False)
    admin_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexerSettings:
    aquarius_url: str | None
    enabled: bool
    poll_interval: float
    batch_blocks: int
    start_block: int | None
    lease_seconds: float
    max_document_bytes: int   # largest DDO after decompression (LimitSettings.max_document_bytes)


@dataclass(frozen=True)
class AccessSettings:
    allow_non_public_ip: bool
    request_timeout: float
    max_checksum_length: int
    ipfs_gateway: str
    arweave_gateway: str
    order_finality_seconds: float  # order evidence older than this is cached (negative: never)
    fetch_timeout: float = 30.0    # total seconds for one outbound fetch (a download: until its headers)
    download_min_rate: float = 1024.0  # bytes/s a download's origin must keep up, per fetch_timeout window
    order_wait: float = 3.0        # seconds initialize waits for a named transaction to be mined


@dataclass(frozen=True)
class LimitSettings:
    max_body_bytes: int       # request bodies above this are refused with 413
    rate_per_ip: int          # requests per window from one client IP; 0 = unlimited
    rate_per_address: int     # requests per window naming one Ethereum address; 0 = unlimited
    rate_window: float        # seconds
    proxy_hops: int           # trusted reverse proxies in front (client IP from X-Forwarded-For)
    token_max_lifetime: float = 30 * 86400  # seconds an auth token may live

    @property
    def max_document_bytes(self) -> int:
        """Largest document (DDO, decrypted or decompressed) the provider will produce."""
        return 4 * self.max_body_bytes


@dataclass(frozen=True)
class ClusterSettings:
    """The Kubernetes engine's cluster: namespace, images and scheduling of its pods."""
    namespace: str = "ocean-compute"
    provider_image: str = "ocean-provider@sha256:" + "0" * 64
    internal_url: str = "http://ocean-provider.ocean-compute.svc:8030"
    provider_pod_labels: dict[str, str] = field(default_factory=lambda: {"app.kubernetes.io/name": "ocean-provider"})
    storage_class: str | None = None
    ttl_seconds_after_finished: int = 600
    phase_cpu: str = "250m"
    phase_memory: str = "256Mi"
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    image_pull_secret: str | None = None
    # A seccomp profile on the nodes (relative to the kubelet's seccomp folder) for algorithm pods;
    # None keeps RuntimeDefault. deploy/kubernetes/seccomp/ocean-c2d.json is the sandbox's list.
    seccomp_profile: str | None = None


@dataclass(frozen=True)
class ComputeSettings:
    enabled: bool
    engine: str                   # local | kubernetes
    jobs_path: Path
    sandbox_user: str
    allow_any_published_algorithm: bool  # both trust lists empty admits any (reference behaviour)
    scheduler_interval: float
    provision_timeout: float
    publish_timeout: float
    environments: tuple[Environment, ...] = ()
    unsafe_no_cgroups: bool = False  # run jobs even where the host cannot isolate them (loudly logged)
    free_requires_order: bool = True  # a free job (ocean.js 8) still needs an order for each dataset
    output_policy: OutputPolicy = field(default_factory=OutputPolicy)  # defaults of the output gate
    kubernetes: ClusterSettings = field(default_factory=lambda: ClusterSettings())

    def environment(self, env_id: str) -> Environment | None:
        return next((e for e in self.environments if e.id == env_id), None)


@dataclass(frozen=True)
class Settings:
    mode: str
    bind: str
    public_url: str
    log_level: str
    log_format: str           # json | text
    shutdown_grace: float     # seconds a stopping process lets running work finish
    limits: LimitSettings
    chains: Mapping[int, ChainSettings]
    universal_private_key: str = field(repr=False)
    address_file: Path
    receipt_timeout: float
    authorized_decrypters: tuple[str, ...]
    storage: StorageSettings
    indexer: IndexerSettings
    access: AccessSettings
    compute: ComputeSettings
    dev_mnemonic: str = field(repr=False)
    audit: AuditSettings = field(default_factory=AuditSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)

    @property
    def development(self) -> bool:
        return self.mode == "development"

    def chain(self, chain_id: int) -> ChainSettings:
        try:
            return self.chains[int(chain_id)]
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(f"Unconfigured chain_id {chain_id}") from None

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def dev_account_key(mnemonic: str, index: int) -> str:
    """Private key (0x-hex) of a BIP-44 account of the development mnemonic."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    key = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}").key
    return "0x" + bytes(key).hex()


class _Values:
    """The text of every key (config.ini, then the environment), read through typed getters that
    name a key once: errors name the variable that sets it, from `_ENV`."""

    def __init__(self, texts: dict[tuple[str, str], str], from_environment: set[tuple[str, str]]):
        self._texts = texts
        self._from_environment = from_environment

    @staticmethod
    def name(section: str, key: str) -> str:
        return _ENV.get((section, key), f"[{section}] {key}")

    def text(self, section: str, key: str) -> str:
        return self._texts[(section, key)]

    def set_by_environment(self, section: str, key: str) -> bool:
        return (section, key) in self._from_environment

    def flag(self, section: str, key: str) -> bool:
        lowered = self.text(section, key).lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigurationError(f"{self.name(section, key)} must be true or false, not {lowered!r}")

    def number(self, section: str, key: str, kind=float):
        value = self.text(section, key)
        try:
            return kind(value)
        except ValueError:
            raise ConfigurationError(f"{self.name(section, key)} must be a number, not {value!r}") from None

    def optional_number(self, section: str, key: str, kind=float):
        return self.number(section, key, kind) if self.text(section, key) else None

    def choice(self, section: str, key: str, allowed: tuple[str, ...]) -> str:
        lowered = self.text(section, key).lower()
        if lowered not in allowed:
            raise ConfigurationError(
                f"{self.name(section, key)} must be one of {', '.join(allowed)}, not {lowered!r}")
        return lowered


def _maybe_json(value: str):
    value = value.strip()
    if value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"invalid JSON value: {exc.msg}") from None
    return value


def _parser(*paths: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    for path in paths:
        if not parser.read(path):
            raise ConfigurationError(f"cannot read configuration file {path}")
    return parser


def _read_raw(parser: configparser.ConfigParser, environ: Mapping[str, str]) -> _Values:
    texts = {(s, k): v.strip() for s in parser.sections() for k, v in parser.items(s)}
    overridden = set()
    for key, env_name in _ENV.items():
        if env_name in environ:
            texts[key] = environ[env_name].strip()
            overridden.add(key)
    return _Values(texts, overridden)


def _chains(raw, mode: str, dev_key: str | None, ask_chain_id) -> dict[int, ChainSettings]:
    urls = _maybe_json(raw.text("chain", "network_url"))
    keys = _maybe_json(raw.text("chain", "private_key"))
    fee_tokens = _maybe_json(raw.text("chain", "provider_fee_token"))
    if not keys:
        if mode != "development":
            raise ConfigurationError("PROVIDER_PRIVATE_KEY is required in production mode")
        keys = dev_key
    if isinstance(urls, dict) != isinstance(keys, dict):
        raise ConfigurationError(
            "NETWORK_URL and PROVIDER_PRIVATE_KEY must both be single or both json encoded."
        )
    if isinstance(urls, dict):
        if not urls:
            raise ConfigurationError("No chains configured")
        pairs = {}
        for chain_id, url in urls.items():
            if str(chain_id) not in keys:
                raise ConfigurationError(f"no PROVIDER_PRIVATE_KEY for chain {chain_id}")
            pairs[int(chain_id)] = (url, keys[str(chain_id)])
    else:
        if not urls:
            raise ConfigurationError("No chains configured")
        chain_id = raw.optional_number("chain", "chain_id", int) or ask_chain_id(urls)
        pairs = {chain_id: (urls, keys)}

    chains = {}
    for chain_id, (url, key) in pairs.items():
        if isinstance(fee_tokens, dict):
            fee_token = fee_tokens.get(str(chain_id))
        else:
            fee_token = fee_tokens or None
        chains[chain_id] = ChainSettings(chain_id, url, _normalise_key(key), fee_token)
    return chains


def _normalise_key(key: str) -> str:
    key = key.strip()
    body = key[2:] if key.lower().startswith("0x") else key
    if len(body) != 64:
        raise ConfigurationError("a private key must be 32 bytes of hex")
    try:
        bytes.fromhex(body)
    except ValueError:
        raise ConfigurationError("a private key must be 32 bytes of hex") from None
    return "0x" + body.lower()


def _ask_node_for_chain_id(url: str) -> int:
    """CHAIN_ID left empty: the node says which chain it serves (once, at start-up)."""
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError("NETWORK_URL must be an http(s) URL")
    from web3 import Web3  # heavy: only when the node must be asked

    return int(Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10})).eth.chain_id)


@dataclass(frozen=True)
class ServerSettings:
    """What the gunicorn master needs before a worker loads `Settings` (no chain, no keys)."""

    log_format: str
    shutdown_grace: float
    workers: int = 2            # gunicorn worker processes
    worker_timeout: int = 300   # seconds a worker may be silent (downloads and results stream long)
    threads: int = 1            # threads per worker
    compute_enabled: bool = True  # whether the master starts the compute engine process


def _log_format(raw) -> str:
    """json or text. Empty (the default) chooses: text for a person reading a development
    provider on a terminal (`make run`), JSON everywhere else (production, CI, files)."""
    chosen = raw.text("provider", "log_format")
    if not chosen.strip():
        development = raw.text("provider", "mode").strip().lower() == "development"
        return "text" if development and sys.stderr.isatty() else "json"
    return raw.choice("provider", "log_format", ("json", "text"))


def _server_settings(raw) -> ServerSettings:
    return ServerSettings(
        log_format=_log_format(raw),
        shutdown_grace=raw.number("provider", "shutdown_grace"),
        workers=raw.number("provider", "workers", int),
        worker_timeout=raw.number("provider", "worker_timeout", int),
        threads=raw.number("provider", "threads", int),
        compute_enabled=raw.flag("compute", "enabled"),
    )


def load_server_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    environ = os.environ if environ is None else environ
    return _server_settings(_read_raw(_parser(Path(environ.get("PROVIDER_CONFIG") or DEFAULT_INI)), environ))


def load_settings(
    environ: Mapping[str, str] | None = None,
    ini_path: Path | str | None = None,
    ask_chain_id=_ask_node_for_chain_id,
) -> Settings:
    """Read `config.ini`, apply environment overrides, and validate everything once."""
    environ = os.environ if environ is None else environ
    # COMPUTE_ENVIRONMENTS_FILE: an extra ini file whose [compute.env.<id>] sections replace ours.
    parser = _parser(Path(ini_path or environ.get("PROVIDER_CONFIG") or DEFAULT_INI))
    if environ.get("COMPUTE_ENVIRONMENTS_FILE"):
        for section in [s for s in parser.sections() if s.startswith("compute.env.")]:
            parser.remove_section(section)
        parser.read(environ["COMPUTE_ENVIRONMENTS_FILE"])
    raw = _read_raw(parser, environ)
    server = _server_settings(raw)
    mode = raw.choice("provider", "mode", ("development", "production"))
    development = mode == "development"

    mnemonic = raw.text("development", "mnemonic")
    index = raw.number("development", "provider_account_index", int)
    dev_key = dev_account_key(mnemonic, index)
    chains = _chains(raw, mode, dev_key if development else None, ask_chain_id)
    for chain in chains.values():
        # The development key is public (barge's mnemonic): whoever holds it could sign provider
        # fees and decrypt documents. It is only ever acceptable on the development chain.
        if chain.private_key == dev_key and chain.chain_id != DEVELOPMENT_CHAIN_ID:
            raise ConfigurationError(
                f"the public development key may only be used on chain {DEVELOPMENT_CHAIN_ID}, not on chain "
                f"{chain.chain_id}: set PROVIDER_PRIVATE_KEY")

    universal = raw.text("chain", "universal_private_key")
    if universal:
        universal = _normalise_key(universal)
    elif len(chains) == 1:
        universal = next(iter(chains.values())).private_key
    else:
        raise ConfigurationError("UNIVERSAL_PRIVATE_KEY is required when keys are JSON encoded")

    address_file_text = raw.text("chain", "address_file")
    if address_file_text:
        address_file = Path(address_file_text).expanduser()
    elif development or BARGE_ADDRESS_FILE.exists():
        address_file = BARGE_ADDRESS_FILE
    else:
        address_file = bundled_address_file()

    decrypters = _maybe_json(raw.text("provider", "authorized_decrypters") or "[]")
    if not isinstance(decrypters, list):
        raise ConfigurationError("AUTHORIZED_DECRYPTERS must be a JSON list")

    allow_non_public = raw.flag("access", "allow_non_public_ip")
    if development and not raw.set_by_environment("access", "allow_non_public_ip"):
        allow_non_public = raw.flag("development", "allow_non_public_ip")

    order_finality = raw.number("access", "order_finality_seconds")
    if development and not raw.set_by_environment("access", "order_finality_seconds"):
        order_finality = raw.number("development", "order_finality_seconds")

    storage_path = Path(raw.text("storage", "path")).expanduser()
    if not storage_path.is_absolute():
        storage_path = PROJECT_ROOT / storage_path

    limits = LimitSettings(
        max_body_bytes=raw.number("limits", "max_body_bytes", int),
        rate_per_ip=raw.number("limits", "rate_per_ip", int),
        rate_per_address=raw.number("limits", "rate_per_address", int),
        rate_window=raw.number("limits", "rate_window"),
        proxy_hops=raw.number("limits", "proxy_hops", int),
        token_max_lifetime=raw.number("limits", "token_max_lifetime"),
    )
    return Settings(
        mode=mode,
        bind=raw.text("provider", "bind"),
        public_url=raw.text("provider", "public_url").rstrip("/"),
        log_level=raw.text("provider", "log_level").upper(),
        log_format=server.log_format,
        shutdown_grace=server.shutdown_grace,
        limits=limits,
        chains=chains,
        universal_private_key=universal,
        address_file=address_file,
        receipt_timeout=raw.number("chain", "receipt_timeout"),
        authorized_decrypters=tuple(str(d) for d in decrypters),
        storage=StorageSettings(
            sqlite_path=storage_path,
            redis_url=raw.text("storage", "redis_connection") or None,
            durability=raw.choice("storage", "durability", ("process", "power")),
        ),
        audit=AuditSettings(
            enabled=raw.flag("audit", "enabled"),
            hash_client_addresses=raw.flag("audit", "hash_client_addresses"),
            retention_days=raw.number("audit", "retention_days"),
        ),
        console=_console_settings(raw, development),
        indexer=IndexerSettings(
            aquarius_url=raw.text("indexer", "aquarius_url").rstrip("/") or None,
            enabled=raw.flag("indexer", "enabled"),
            poll_interval=raw.number("indexer", "poll_interval"),
            batch_blocks=raw.number("indexer", "batch_blocks", int),
            start_block=raw.optional_number("indexer", "start_block", int),
            lease_seconds=raw.number("indexer", "lease_seconds"),
            max_document_bytes=limits.max_document_bytes,
        ),
        access=AccessSettings(
            allow_non_public_ip=allow_non_public,
            request_timeout=raw.number("access", "request_timeout"),
            max_checksum_length=raw.number("access", "max_checksum_length", int),
            ipfs_gateway=raw.text("access", "ipfs_gateway"),
            arweave_gateway=raw.text("access", "arweave_gateway"),
            order_finality_seconds=order_finality,
            fetch_timeout=raw.number("access", "fetch_timeout"),
            download_min_rate=raw.number("access", "download_min_rate"),
            order_wait=raw.number("access", "order_wait"),
        ),
        compute=_compute_settings(raw, parser),
        dev_mnemonic=mnemonic,
    )


def _compute_settings(raw, parser) -> ComputeSettings:
    jobs_path = Path(raw.text("compute", "jobs_path")).expanduser()
    if not jobs_path.is_absolute():
        jobs_path = PROJECT_ROOT / jobs_path
    engine = raw.choice("compute", "engine", ("local", "kubernetes"))
    return ComputeSettings(
        enabled=raw.flag("compute", "enabled"),
        engine=engine,
        jobs_path=jobs_path,
        sandbox_user=raw.text("compute", "sandbox_user"),
        allow_any_published_algorithm=raw.flag("compute", "allow_any_published_algorithm"),
        scheduler_interval=raw.number("compute", "scheduler_interval"),
        provision_timeout=raw.number("compute", "provision_timeout"),
        publish_timeout=raw.number("compute", "publish_timeout"),
        environments=load_environments(parser),
        unsafe_no_cgroups=raw.flag("compute", "unsafe_no_cgroups"),
        free_requires_order=raw.flag("compute", "free_requires_order"),
        output_policy=_output_policy(raw),
        kubernetes=_cluster_settings(raw),
    )


def _output_policy(raw) -> OutputPolicy:
    def count(key: str) -> int | None:
        text = raw.text("compute", key)
        if not text:
            return None
        if not text.isdigit():
            raise ConfigurationError(f"{key} must be a whole number of bytes or files")
        return int(text)

    types = raw.text("compute", "output_allowed_types")
    review = raw.choice("compute", "output_review", REVIEW_MODES)
    return OutputPolicy(count("output_max_bytes"), count("output_max_files"),
                        tuple(t.strip().lower().lstrip(".") for t in types.split(",") if t.strip()) if types else None,
                        review)


def _cluster_settings(raw):
    node_selector = _maybe_json(raw.text("compute.kubernetes", "node_selector") or "{}")
    if not isinstance(node_selector, dict):
        raise ConfigurationError("K8S_NODE_SELECTOR must be a JSON object")
    return ClusterSettings(
        namespace=raw.text("compute.kubernetes", "namespace"),
        provider_image=raw.text("compute.kubernetes", "provider_image"),
        internal_url=raw.text("compute.kubernetes", "internal_url").rstrip("/"),
        storage_class=raw.text("compute.kubernetes", "storage_class") or None,
        image_pull_secret=raw.text("compute.kubernetes", "image_pull_secret") or None,
        node_selector=node_selector,
        seccomp_profile=raw.text("compute.kubernetes", "seccomp_profile") or None,
    )


def _console_settings(raw: "_Values", development: bool) -> ConsoleSettings:
    token = raw.text("console", "token") or None
    admins = _maybe_json(raw.text("console", "admin_addresses") or "[]")
    if not isinstance(admins, list) or not all(isinstance(a, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", a)
                                               for a in admins):
        raise ConfigurationError("CONSOLE_ADMIN_ADDRESSES must be a JSON list of addresses")
    if token is not None and len(token) < 16:
        raise ConfigurationError("CONSOLE_TOKEN must be at least 16 characters")
    switch = raw.text("console", "enabled").lower()
    if switch in ("", "auto"):
        enabled = development or token is not None or bool(admins)
    else:
        enabled = switch in ("1", "true", "yes", "on")
    return ConsoleSettings(enabled=enabled, token=token, admin_addresses=tuple(a.lower() for a in admins))

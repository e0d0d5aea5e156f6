"""The one ``Settings`` object, read from ``BAIBAIN_*`` environment variables by the entry point."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    NonNegativeFloat,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from admin.audit_crypto import AuditKeyError, parse_audit_keys
from admin.quotas import MAX_BUDGET
from knowledge.errors import BaibainError

ENV_PREFIX = "BAIBAIN_"


class Settings(BaseSettings):
    """Configuration (see the table in DESIGN.md). Built once and passed down."""

    # No setting is infinite or not a number (「inf」 would make a timeout never end).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", allow_inf_nan=False)

    data_dir: Path = Path("./var")
    database_url: str = ""
    index: Literal["embedded", "weaviate"] = "embedded"
    weaviate_url: str = ""
    weaviate_api_key: SecretStr | None = None
    weaviate_grpc_port: int = Field(default=50051, ge=1, le=65535)
    weaviate_grpc_host: str = ""  # the host of BAIBAIN_WEAVIATE_URL when empty
    weaviate_collection: str = "BaibainChunk"
    weaviate_replication_factor: int = Field(default=1, ge=1)
    weaviate_shards: int = Field(default=1, ge=1)
    weaviate_connect_timeout_s: float = Field(default=3.0, gt=0)
    weaviate_timeout_s: float = Field(default=10.0, gt=0)
    weaviate_insert_timeout_s: float = Field(default=60.0, gt=0)
    llm_base_url: str = ""
    llm_api_key: SecretStr | None = None
    llm_model: str = ""
    llm_api_version: str = ""  # set for Azure OpenAI (AsyncAzureOpenAI with this api-version)
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_deadline_s: float = Field(default=60.0, gt=0)
    llm_answer_max_tokens: int = Field(default=1024, ge=64)
    # Model-written variants of each question searched too (0 = off), like 源内's n_queries.
    llm_query_variants: int = Field(default=2, ge=0, le=5)
    summary_token_budget: int = Field(default=24_000, ge=1000)
    fetch_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Non-public networks that URLs may be fetched from (CIDR, comma-separated): by default
    # only public addresses, so a URL cannot reach the server's own network (metadata
    # endpoints, internal services). An LGWAN document server needs its range here.
    fetch_allowed_networks: str = ""
    # OpenAI-compatible embeddings; unset = lexical retrieval only. The key falls back to
    # BAIBAIN_LLM_API_KEY; an api version means Azure OpenAI (model = deployment).
    embedding_base_url: str = ""
    embedding_model: str = ""
    embedding_api_key: SecretStr | None = None
    embedding_api_version: str = ""
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = ""
    teams_app_id: str = ""
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str = ""
    # Bot Framework endpoints; empty = Microsoft's public cloud (override for gateways, tests).
    teams_openid_metadata_url: str = ""
    teams_token_url: str = ""
    # Microsoft Graph, where a channel thread's root message is read; empty = the public
    # cloud's https://graph.microsoft.com (override for sovereign clouds, gateways, tests).
    teams_graph_url: str = ""
    # Hosts (and their subdomains) that files attached in Teams may be downloaded from: the
    # pre-authenticated download URLs of personal-chat attachments point into SharePoint.
    teams_file_hosts: str = "sharepoint.com"
    allow_insecure_local: bool = False
    logo_signing_secret: SecretStr | None = None
    logo_reply_token: SecretStr | None = None
    # Seconds between two bot messages to one chat conversation (platform rate limits).
    chat_send_interval: float = Field(default=1.0, ge=0, le=60)
    # Seconds a shutdown waits for answers still being written before it cancels them (their
    # placeholders then get an apology).
    chat_shutdown_grace_s: float = Field(default=10.0, ge=0, le=300)
    # Seconds a stopping worker waits for running jobs (a dataset refresh writing to the index)
    # before it cancels them.
    worker_shutdown_grace_s: float = Field(default=60.0, ge=0, le=3600)
    audit_key: SecretStr | None = None
    audit_retention_days: int = Field(default=0, ge=0)  # 0 keeps records forever
    monthly_token_budget: int = Field(default=1_000_000, ge=0, le=MAX_BUDGET)
    # Yen per 1,000 tokens (input, output) by model, for usage reports, e.g.
    # BAIBAIN_MODEL_PRICES='{"gpt-4o-mini": [0.023, 0.09]}'
    model_prices: dict[str, tuple[NonNegativeFloat, NonNegativeFloat]] = Field(default_factory=dict)
    sample_data: bool = True
    # Where `serve` binds; the web page only works without an API key on a loopback bind.
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'baibain.sqlite3').resolve()}"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index" / "chunks.sqlite3"

    @field_validator("audit_key")
    @classmethod
    def _audit_keys(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked with the other variables, so a mistyped or cut-off key is named with what it
        # should hold before any command runs (blank = unset: the generated key file).
        if value is not None and value.get_secret_value().strip():
            try:
                parse_audit_keys(value.get_secret_value())
            except AuditKeyError:
                raise ValueError(
                    "base64 で書いた 32 バイトの鍵を指定してください（複数のときは新しい鍵を"
                    "先頭にカンマ区切りで。同じ鍵を繰り返さないでください）"
                ) from None
        return value

    @field_validator("weaviate_grpc_host")
    @classmethod
    def _grpc_apart(cls, value: str, info: ValidationInfo) -> str:
        # Weaviate serves REST and gRPC on two ports; the client cannot use one for both, and
        # said so only at the first search, with a validation error of its own.
        rest = urlsplit(str(info.data.get("weaviate_url") or ""))
        try:
            rest_port = rest.port or (443 if rest.scheme == "https" else 80)
        except ValueError:  # a malformed port: the client's own check names it
            return value
        same_host = not value.strip() or value.strip() == rest.hostname
        if rest.hostname and same_host and info.data.get("weaviate_grpc_port") == rest_port:
            raise ValueError(
                f"gRPC の接続先が BAIBAIN_WEAVIATE_URL と同じポート（{rest_port}）です。"
                "BAIBAIN_WEAVIATE_GRPC_PORT に Weaviate の gRPC ポート（既定 50051）を"
                "指定してください"
            )
        return value

    @field_validator("fetch_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",") if p.strip()):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"「{part}」はネットワークとして読めません（例: 10.20.0.0/16 をカンマ区切りで）"
                ) from None
        return value

    @property
    def fetch_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The non-public networks URLs may be fetched from."""
        parts = (p.strip() for p in self.fetch_allowed_networks.split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    @property
    def bound_to_loopback(self) -> bool:
        """True when the server listens only on a loopback address (the local demo)."""
        if self.host in ("localhost", "localhost.localdomain"):
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


class SettingsInvalid(BaibainError):
    """A ``BAIBAIN_*`` environment variable holds a value that cannot be used."""

    code = "settings_invalid"
    status = 500
    default_message = "環境変数の設定に誤りがあります。"


# What to write instead, by pydantic error type; the error's context fills the braces.
_HINTS = {
    "literal_error": "{expected} のいずれかを指定してください",
    "greater_than": "{gt} より大きい値を指定してください",
    "greater_than_equal": "{ge} 以上の値を指定してください",
    "less_than": "{lt} 未満の値を指定してください",
    "less_than_equal": "{le} 以下の値を指定してください",
    "float_parsing": "数値を指定してください",
    "finite_number": "有限の数値を指定してください",
    "int_parsing": "整数を指定してください",
    "int_from_float": "整数を指定してください",
    "bool_parsing": "true または false を指定してください",
}
_JSON_HINT = 'JSON で指定してください（例: {"gpt-4o-mini": [0.023, 0.09]}）'
_FIELD_IN_ERROR = re.compile(r'field "(\w+)"')


def _hint(error: Any) -> str:
    context = error.get("ctx") or {}
    if error["loc"][0] == "model_prices":
        if error["type"] in ("greater_than_equal", "finite_number"):
            return "価格（1,000トークンあたりの円）は 0 以上の数値で指定してください"
        return _JSON_HINT
    if error["type"] == "value_error":
        return str(context.get("error", "値を確認してください"))
    if error["type"] == "literal_error":
        context = {"expected": str(context.get("expected", "")).replace(" or ", "・")}
    return _HINTS.get(error["type"], "値を確認してください").format(**context)


def load_settings() -> Settings:
    """The settings from the environment; ``SettingsInvalid`` names every variable that holds
    an unusable value and what it should hold (never the value: it may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [f"{ENV_PREFIX}{e['loc'][0]}".upper() + f": {_hint(e)}" for e in exc.errors()]
    except SettingsError as exc:  # a value that should be JSON and is not
        match = _FIELD_IN_ERROR.search(str(exc))
        problems = [f"{ENV_PREFIX}{match[1] if match else ''}".upper() + f": {_JSON_HINT}"]
    lines = "\n".join(f"  {p}" for p in dict.fromkeys(problems))
    raise SettingsInvalid(f"環境変数の設定に誤りがあります。\n{lines}")

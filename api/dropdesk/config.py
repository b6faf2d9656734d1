"""Service settings, read once from the environment (prefix DROPDESK_)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-in-production"
DEV_INTERNAL_TOKEN = "dev-only-internal-token"
DEV_RASA_TOKEN = "dev-only-rasa-token"
ROOT = Path(__file__).resolve().parents[2]


def _split_dates(value: object) -> object:
    if isinstance(value, str):
        return [dt.date.fromisoformat(p.strip()) for p in value.split(",") if p.strip()]
    return value


def _split_strings(value: object) -> object:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


class Settings(BaseSettings):
    """Every service setting; README.md lists them with their defaults."""

    model_config = SettingsConfigDict(env_prefix="DROPDESK_", env_file=None, extra="ignore")

    env: Literal["local", "test", "production"] = "local"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'dropdesk.db'}"
    pubsub_url: str = "memory://"
    secret_key: str = DEV_SECRET
    internal_token: str = DEV_INTERNAL_TOKEN
    merchant_token_ttl_hours: int = 24 * 7
    host: str = "127.0.0.1"
    port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    # How long a merchant's request waits for the bot; a slower turn still finishes and its
    # replies follow on the live channel (the merchant is told so), up to the turn limit.
    rasa_timeout_seconds: float = 10.0
    rasa_turn_limit_seconds: float = 120.0
    # A turn that failed because Rasa or the action server went away (killed, restarting,
    # a replica gone) is tried again for this long before the merchant is asked to resend.
    rasa_retry_seconds: float = 45.0
    actions_port: int = 5055
    time_tolerance_minutes: int = 10
    duplicate_window_minutes: int = 10
    default_settlement_cycle: str = "T1"
    holidays: Annotated[list[dt.date], NoDecode] = Field(default_factory=list)
    extra_workdays: Annotated[list[dt.date], NoDecode] = Field(default_factory=list)
    max_message_chars: int = 500
    max_request_bytes: int = 64 * 1024
    latest_terminal_software: str = "V3.1.0"
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_bytes: int = 5 * 1024 * 1024
    upload_dir: Path = ROOT / "var" / "uploads"
    # Where attachments are kept: "database" (a blob table every replica reads) or "file"
    # (upload_dir; "file:///abs/path" names the folder, e.g. a volume every replica mounts).
    # Empty: the database in production, the upload folder otherwise.
    attachment_store: str = ""
    # Read photos of slips, terminal screens and bank SMS (OCR in worker processes) and let the
    # bot confirm what they show.
    read_photos: bool = True
    log_dir: Path = ROOT / "var" / "log"
    # Rasa's HTTP API token (rasa run --auth-token): the service resets trackers on hand-back.
    rasa_token: str = DEV_RASA_TOKEN
    # Tickets and the human queue.
    first_response_minutes: int = 30
    agent_silence_minutes: int = 30
    minutes_per_queued_session: int = 5
    working_hours: str = "09:00-21:00"
    working_days: str = "1234567"  # ISO weekdays, 1 = Monday
    sweep_interval_seconds: float = 30.0
    # How long an answered idempotency key (chat_request) is kept for a client's retry.
    request_keep_hours: float = 48.0
    console_session_hours: int = 12
    # The WeChat official account (off while the token is unset); see dropdesk/wechat/.
    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    # The 43-character EncodingAESKey; a second, comma-separated value is the previous key.
    wechat_aes_key: Annotated[list[str], NoDecode] = Field(default_factory=list)
    wechat_api_base: str = "https://api.weixin.qq.com"
    # WeChat waits 5 s for a passive reply; after this the answer goes by customer-service API.
    wechat_reply_deadline_seconds: float = 4.0
    wechat_max_body_bytes: int = 16 * 1024
    wechat_bind_code_minutes: int = 10
    # Operations (README "Operations"): log level, readiness, the chat API's rate limit.
    log_level: str = "INFO"
    # The action server for /readyz: empty is http://127.0.0.1:<actions_port>, "off" skips it
    # (where only Rasa may reach the action server).
    actions_url: str = ""
    # Per merchant on the chat API's POSTs: a sustained rate and a burst; 0 turns it off.
    chat_rate_per_minute: int = 300
    chat_rate_burst: int = 60
    # Worker threads for sync endpoints and database work, and how many database sessions are
    # open at once (fewer, waited for on the event loop: see dropdesk/database/slots.py). Few:
    # at 200 merchants on 2 cores, 40 threads fighting over the GIL with the event loop gave a
    # p95 of 922 ms through the chat API, 12 threads and 6 sessions 354 ms (bench/load_bench.py).
    worker_threads: int = 12
    database_sessions: int = 6

    @model_validator(mode="before")
    @classmethod
    def _parse_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("holidays", "extra_workdays"):
                if key in data:
                    data[key] = _split_dates(data[key])
            for key in ("allowed_origins", "wechat_aes_key"):
                if key in data:
                    data[key] = _split_strings(data[key])
        return data

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.env == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError(
                    "DROPDESK_ENV=production refuses to start:\n  - " + "\n  - ".join(problems)
                )
        self.attachment_backend()
        self.opening_hours()
        for key in self.wechat_aes_key:
            if len(key) != 43:
                raise ValueError("DROPDESK_WECHAT_AES_KEY must be 43 characters (EncodingAESKey)")
        if self.wechat_token and not (self.wechat_appid and self.wechat_secret):
            raise ValueError("DROPDESK_WECHAT_TOKEN needs DROPDESK_WECHAT_APPID and _SECRET too")
        if not 1 <= self.database_sessions < self.worker_threads:
            raise ValueError("DROPDESK_DATABASE_SESSIONS must be at least 1 and fewer than "
                             "DROPDESK_WORKER_THREADS")  # fmt: skip
        if not self.working_days or set(self.working_days) - set("1234567"):
            raise ValueError("DROPDESK_WORKING_DAYS lists ISO weekdays 1-7, e.g. 12345")
        return self

    def attachment_backend(self) -> tuple[Literal["database", "file"], Path]:
        """Where attachments go: ("database", _) or ("file", folder), from attachment_store."""
        store = self.attachment_store.strip()
        if not store:
            store = "database" if self.env == "production" else "file"
        if store in ("database", "database://"):
            return "database", self.upload_dir
        if store == "file":
            return "file", self.upload_dir
        if store.startswith("file://") and len(store) > len("file://"):
            folder = Path(store.removeprefix("file://"))
            if not folder.is_absolute():
                raise ValueError("DROPDESK_ATTACHMENT_STORE=file:///... needs an absolute path")
            return "file", folder
        raise ValueError("DROPDESK_ATTACHMENT_STORE is database, file or file:///absolute/path")

    def opening_hours(self) -> tuple[dt.time, dt.time]:
        """The agents' working hours, from DROPDESK_WORKING_HOURS ("09:00-21:00")."""
        try:
            first, last = (p.strip() for p in self.working_hours.split("-"))
            start = dt.time.fromisoformat(first)
            # "24:00" closes at the end of the day (round the clock: 00:00-24:00).
            end = dt.time.max if last == "24:00" else dt.time.fromisoformat(last)
        except ValueError as exc:
            raise ValueError("DROPDESK_WORKING_HOURS must look like 09:00-21:00") from exc
        if start >= end:
            raise ValueError("DROPDESK_WORKING_HOURS must start before it ends")
        return start, end


def production_problems(settings: Settings) -> list[str]:
    """What keeps these settings from being a production profile; empty when they are one.

    Production means every replica shares its state: PostgreSQL for data (and attachments,
    unless a shared folder is named), Redis for pub/sub, dedupe and locks, and no secret that
    ships with the source.
    """
    problems = []
    backend = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    if backend not in ("postgresql", "postgres"):
        problems.append(
            f"DROPDESK_DATABASE_URL must be PostgreSQL (postgresql+psycopg://...), not {backend}"
        )
    if not settings.pubsub_url.startswith(("redis://", "rediss://")):
        scheme = settings.pubsub_url.split(":", 1)[0]
        problems.append(f"DROPDESK_PUBSUB_URL must be Redis (redis://...), not {scheme}://")
    for name, value, dev in (
        ("DROPDESK_SECRET_KEY", settings.secret_key, DEV_SECRET),
        ("DROPDESK_INTERNAL_TOKEN", settings.internal_token, DEV_INTERNAL_TOKEN),
        ("DROPDESK_RASA_TOKEN", settings.rasa_token, DEV_RASA_TOKEN),
    ):
        if value == dev or len(value) < 32:
            problems.append(f"{name} must be set to a strong secret (32+ characters)")
    if settings.attachment_store.strip() == "file":
        problems.append(
            "DROPDESK_ATTACHMENT_STORE=file keeps photos on one replica's disk: "
            "use database, or file:///path on a volume every replica mounts"
        )
    return problems


def settings_error(exc: ValidationError) -> str:
    """A refused configuration in plain words, one line per problem (no traceback)."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        text = str(error.get("msg", "")).removeprefix("Value error, ")
        lines.append(f"DROPDESK_{where.upper()}: {text}" if where else text)
    return "invalid settings: " + "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()

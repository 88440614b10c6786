"""Settings every service reads from the environment (prefix ``QD_``).

Defaults give the embedded single-machine setup. ``QD_MODE=production`` refuses the unsafe
ones: generated secrets, a missing master key, SQLite.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import is_sqlite
from shared.messaging.connection import nats_servers
from shared.messaging.credentials import with_credentials
from shared.pii import MasterKey, load_or_create_master_key
from shared.signing import ANY_DEPARTMENT, KeyRing, Signer, load_or_create_signer, publish_public_key


class ServiceSettings(BaseSettings):
    """Common settings; each service subclasses it and sets ``service``."""

    # A refused start must not print the secrets it was given (pydantic echoes inputs in errors).
    model_config = SettingsConfigDict(env_prefix="QD_", extra="ignore", hide_input_in_errors=True)

    writes_events: ClassVar[bool] = False
    """Whether this service owns a stream: its events are signed with its key wherever they are written."""

    service: str = "service"
    mode: Literal["development", "production"] = "development"
    data_dir: Path = Field(default=Path("data"), description="Folder for SQLite files, keys and logs")
    database_url: str = Field(default="", description="SQLAlchemy async URL; default: SQLite under data_dir")
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    namespace: str = Field(default="qd", description="Prefix of subjects and stream names")
    department: str = Field(default="federation", description="The department this instance is deployed for")
    stream_replicas: int = Field(default=1, ge=1, le=5, description="JetStream replicas (3 on a cluster)")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    auth_secret: str = Field(default="", description="HMAC secret shared by all services to verify tokens")
    access_token_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="Lifetime of an access token; a refresh token gets the next")
    auth_staff_check: bool = Field(
        default=True, description="Refuse tokens of staff unknown, disabled or changed (the staff directory); "
        "only tests of one service without the registry turn it off, never production")
    master_key: str = Field(default="", description="Base64 master key for personal data (production)")
    master_key_file: Path | None = Field(default=None, description="File holding the master key")
    cors_origins: str = Field(
        default="", description="Comma-separated origins allowed to call this API from a browser "
        "(development: any local page; production: none unless listed)")
    consumer_fetch_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds a consumer's fetch waits on an idle stream before asking again")
    health_max_outbox_age: float = Field(
        default=60.0, gt=0, description="/health is degraded when the oldest unpublished event is older (seconds)")
    health_max_consumer_lag: int = Field(
        default=10_000, ge=0, description="/health is degraded when a consumer is more events behind its stream")
    health_nats_timeout: float = Field(
        default=1.0, gt=0, le=10, description="/health is degraded when NATS does not answer a ping within (seconds)")
    max_event_bytes: int = Field(
        default=256 * 1024, ge=4096, le=8 * 1024 * 1024,
        description="Largest encoded event envelope a command may append (bytes); a command whose event "
        "would be larger gets 422. Must fit the NATS server's max_payload (checked when the relay connects)")
    signing_key: str = Field(default="", description="Base64 Ed25519 seed this instance signs its events with")
    signing_key_file: Path | None = Field(default=None, description="File holding the signing key")
    trust_dir: Path | None = Field(
        default=None, description="Folder of the publishers' public keys (*.pub.json) this instance trusts; "
        "default: <data_dir>/trust")
    nats_user: str = Field(default="", description="This instance's NATS user (its own identity)")
    nats_password: str = Field(default="", description="Its NATS password")
    declare_streams: bool = Field(
        default=False, description="Let the relay create its stream (only where no operator step runs: "
        "tests of the library); normally `python -m services.<name> streams` does")
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("nats_url")
    @classmethod
    def _nats_servers_are_urls(cls, value: str) -> str:
        nats_servers(value)  # raises with the bad part named
        return value

    @model_validator(mode="after")
    def _production_is_explicit(self) -> ServiceSettings:
        if self.mode == "production":
            if not self.auth_secret or len(self.auth_secret) < 32:
                raise ValueError("QD_AUTH_SECRET must be set (at least 32 characters) in production")
            if not self.auth_staff_check:
                raise ValueError("QD_AUTH_STAFF_CHECK cannot be turned off in production")
            if not self.database_url or is_sqlite(self.database_url):
                raise ValueError("QD_DATABASE_URL must name a PostgreSQL database in production")
            if not self.nats_user or not self.nats_password:
                raise ValueError("QD_NATS_USER and QD_NATS_PASSWORD (this instance's own NATS identity) "
                                 "must be set in production")
        if self.nats_user:
            # Every NATS connection of the process (relay, consumers, commands) uses this identity.
            self.nats_url = with_credentials(self.nats_url, self.nats_user, self.nats_password)
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured database, or a SQLite file of this service's own under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}.db').resolve()}"

    def effective_auth_secret(self) -> str:
        """The token secret; in development one is generated into the data folder on first run."""
        if self.auth_secret:
            return self.auth_secret
        path = self.data_dir / "auth-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip()

    def signs_for(self) -> frozenset[str]:
        """The departments whose subjects this instance may publish on and sign for.

        ``*`` (any): the registry and inspections are single instances acting for every
        department's staff (the envelope's department is the actor's). A per-department service
        (checklists) narrows it to the departments it serves.
        """
        return frozenset({ANY_DEPARTMENT})

    def effective_trust_dir(self) -> Path:
        """Where trusted publishers' public keys are read from."""
        return self.trust_dir or self.data_dir / "trust"

    def load_signer(self) -> Signer:
        """This instance's signing key. In development it is generated on first use and its public
        key enrolled in the trust folder; production takes it from the environment or a file."""
        if self.signing_key:
            signer = Signer.from_base64(self.signing_key)
        else:
            path = self.signing_key_file or self.data_dir / "keys" / f"{self.service}-{self.department}.ed25519"
            signer = load_or_create_signer(path, allow_create=self.mode == "development")
        if self.mode == "development":
            public = signer.public(self.service, self.department, self.signs_for())
            publish_public_key(self.effective_trust_dir(), public)
        return signer

    def load_keyring(self) -> KeyRing:
        """The public keys this instance trusts (re-read when an unknown key id arrives)."""
        return KeyRing(folder=self.effective_trust_dir())

    def load_master_key(self) -> MasterKey:
        """The master key wrapping every person's data key; generated only in development."""
        if self.master_key:
            return MasterKey.from_base64(self.master_key)
        path = self.master_key_file or self.data_dir / "master.key"
        return load_or_create_master_key(
            path,
            allow_create=self.mode == "development",
            hint="set QD_MASTER_KEY (base64) or QD_MASTER_KEY_FILE; production never generates one",
        )

"""Registry settings (environment, prefix ``QD_``); see docs/configuration.md."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from services.registry.application.credentials import SignInPolicy
from services.registry.domain.certificate import SevereRule
from services.registry.domain.certificate_life import CertificatePolicy
from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """The registry's settings on top of the common ones."""

    service: str = "registry"
    writes_events: ClassVar[bool] = True
    http_port: int = 8101
    severe_grades: str = Field(default="1,2", description="Grades counted as severe (重度), comma-separated")
    severe_also_categories: str = Field(
        default="", description="Categories counted as severe at any grade (e.g. '5,6' for intellectual, mental)"
    )
    certificate_validity_years: int = Field(default=10, ge=1, description="Years a certificate is valid")
    certificate_freeze_after_months: int = Field(
        default=6, ge=0, description="Months after a household move without the certificate until it is frozen")
    certificate_cancel_after_months: int = Field(
        default=12, ge=0, description="Months after a household move without the certificate until it is cancelled")
    certificate_expiring_days: int = Field(
        default=90, ge=0, description="Default window of the list of certificates about to expire")
    import_max_bytes: int = Field(default=20_000_000, ge=1, description="Largest spreadsheet upload accepted")
    lookups_per_minute: int = Field(
        default=20, ge=1, le=10_000,
        description="Lookups by certificate number allowed per member of staff per minute (then 429)",
    )
    dev_tokens: bool = Field(default=True, description="Serve POST /auth/dev-token (never in production)")
    dev_token_hours: int = Field(default=12, ge=1, le=24 * 7, description="Lifetime of a development token")
    refresh_token_hours: int = Field(default=12, ge=1, le=24 * 30, description="Lifetime of a refresh token")
    setup_code_hours: int = Field(default=72, ge=1, le=24 * 30, description="Lifetime of a one-time set-up code")
    login_max_failures: int = Field(default=5, ge=1, le=100, description="Failed sign-ins in a row that lock")
    login_lock_minutes: int = Field(default=15, ge=1, le=24 * 60, description="How long a locked account waits")
    sign_ins_per_minute_per_address: int = Field(
        default=20, ge=1, le=10_000,
        description="Sign-in and set-password attempts per client address per minute, per process (then 429)")

    def sign_in_policy(self) -> SignInPolicy:
        """Lifetimes of codes and refresh tokens, and the lockout, as configured."""
        return SignInPolicy(setup_code_ttl=timedelta(hours=self.setup_code_hours),
                            refresh_ttl=timedelta(hours=self.refresh_token_hours),
                            max_failures=self.login_max_failures, lock_for=timedelta(minutes=self.login_lock_minutes))

    def severe_rule(self) -> SevereRule:
        """The configured severe rule."""
        def ints(text: str) -> frozenset[int]:
            return frozenset(int(x) for x in text.split(",") if x.strip())
        return SevereRule(grades=ints(self.severe_grades), also_categories_any_grade=ints(self.severe_also_categories))

    def certificate_policy(self) -> CertificatePolicy:
        """The configured certificate periods."""
        return CertificatePolicy(
            validity_years=self.certificate_validity_years,
            freeze_after_months=self.certificate_freeze_after_months,
            cancel_after_months=self.certificate_cancel_after_months,
            expiring_within_days=self.certificate_expiring_days,
        )

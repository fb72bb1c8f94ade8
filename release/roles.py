"""The roles people hold in #portal-release and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    RELEASE_MANAGER = "release_manager"
    TECH_LEAD = "tech_lead"
    QA = "qa"
    CLIENT_SUCCESS = "client_success"
    SECURITY = "security"
    RELIABILITY = "reliability"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return _TITLES[self]

    @classmethod
    def parse(cls, text: str) -> Role | None:
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            return None


_TITLES = {
    Role.RELEASE_MANAGER: "Release Manager",
    Role.TECH_LEAD: "Technical Lead",
    Role.QA: "QA",
    Role.CLIENT_SUCCESS: "Client Success Lead",
    Role.SECURITY: "Security",
    Role.RELIABILITY: "Reliability Partner",
    Role.ADMIN: "Admin",
}

#: Step 5 of the release process: the release readiness review.
READINESS_ROLES: tuple[Role, ...] = (Role.TECH_LEAD, Role.QA, Role.CLIENT_SUCCESS, Role.SECURITY)

#: The hotfix window: "any time with approval from Reliability Partner + Client Success Lead".
HOTFIX_ROLES: tuple[Role, ...] = (Role.RELIABILITY, Role.CLIENT_SUCCESS)

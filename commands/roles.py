"""`/release role add|remove|list`: who holds which role."""

from __future__ import annotations

from commands.context import Context
from commands.parser import RoleAdd, RoleList, RoleRemove
from release.audit import AuditAction
from release.permissions import Action
from release.roles import Role


def add(ctx: Context, command: RoleAdd) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.GRANT_ROLE):
            return
        if not uow.grant(command.user_id, command.role, by=ctx.actor):
            ctx.conversation.reply(f"<@{command.user_id}> already holds {command.role.label}.")
            return
        uow.audit(
            ctx.actor, AuditAction.ROLE_GRANTED, user=command.user_id, role=command.role.value
        )
        ctx.conversation.announce(
            f"<@{ctx.actor}> granted <@{command.user_id}> the {command.role.label} role."
        )


def remove(ctx: Context, command: RoleRemove) -> None:
    with ctx.transaction() as uow:
        if ctx.refused(uow, Action.REVOKE_ROLE):
            return
        if command.role is Role.ADMIN and command.user_id in ctx.policy.config_admins:
            ctx.conversation.reply(
                f"<@{command.user_id}> is an admin from configuration (`RELEASE_ADMINS`); "
                "remove them there. Nothing was changed."
            )
            return
        if (
            command.role is Role.ADMIN
            and not ctx.policy.config_admins
            and uow.count_holders(Role.ADMIN, lock=True) <= 1
            and Role.ADMIN in uow.roles_of(command.user_id)
        ):
            ctx.conversation.reply(
                "That is the last admin; grant admin to someone else first. Nothing was changed."
            )
            return
        if not uow.revoke(command.user_id, command.role):
            ctx.conversation.reply(f"<@{command.user_id}> does not hold {command.role.label}.")
            return
        uow.audit(
            ctx.actor, AuditAction.ROLE_REVOKED, user=command.user_id, role=command.role.value
        )
        ctx.conversation.announce(
            f"<@{ctx.actor}> revoked the {command.role.label} role from <@{command.user_id}>."
        )


def list_roles(ctx: Context, _command: RoleList) -> None:
    with ctx.transaction() as uow:
        grants = uow.grants()
    holders: dict[Role, list[str]] = {role: [] for role in Role}
    for admin in sorted(ctx.policy.config_admins):
        holders[Role.ADMIN].append(f"<@{admin}> (from configuration)")
    for grant in grants:
        if not (grant.role is Role.ADMIN and grant.user_id in ctx.policy.config_admins):
            holders[grant.role].append(f"<@{grant.user_id}>")
    lines = ["*Roles*"] + [
        f"• {role.label} (`{role.value}`): " + (", ".join(people) if people else "nobody")
        for role, people in holders.items()
    ]
    ctx.conversation.reply("\n".join(lines))

"""Every durable procedure a job can run, by the kind its rows are stored under."""

from __future__ import annotations

from commands.deploy import PROMOTE
from commands.flags import FLAG
from commands.jobs import Procedure
from commands.regression import NOTES
from commands.rollback import ROLLBACK
from commands.staging import STAGE

PROCEDURES: dict[str, Procedure] = {p.kind: p for p in (STAGE, NOTES, PROMOTE, ROLLBACK, FLAG)}

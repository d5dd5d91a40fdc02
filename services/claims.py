"""Duplicate claims across partners, reported to officers once per cycle from the records."""

import hashlib
import json

from domain.periods import Period
from models import repo
from models.db import session_scope
from services import messages
from services.deps import Deps


def report_duplicate_claims(deps: Deps, period: Period) -> dict[str, list[str]]:
    """Every participant in more than one partner's accepted return for ``period``; officers told of each new set."""
    with session_scope(deps.engine) as session:
        claims = repo.duplicate_claims(session, period=str(period))
        if claims:
            digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).hexdigest()[:16]
            repo.enqueue(
                session,
                dedup_key=f"duplicate-claims:{period}:{digest}",
                channel=deps.contract.alliance.officers_channel,
                kind="duplicate_claims",
                at=deps.clock(),
                text=messages.duplicate_claims_summary(period=str(period), claims=claims),
                payload={"period": str(period), "claims": claims},
            )
    return claims

"""Work items: the case as the unit of work.

A robot's letters, applications and cases enter a durable queue (``queue.add``) with a key from
their source, so the same letter is one item however often it is collected. A flow run claims
items under a lease, runs its handler for each (several at once), and every step that finishes
for an item is stored with its typed result (``memo``) and one ledger row, so a later run of the
same item — after a sign-off, a crash or a retry — is handed the result instead of running and
counting the step again. Work that needs a caseworker parks its item; the decision makes it
ready and a continuation run takes it on from the signed-off step.

Modules: ``states`` (the vocabulary), ``queue`` (add, claim, park, finish, fail — every state
change), ``memo`` (the item a thread works on and its finished steps), ``processing`` (the
loop a flow run calls), ``keys`` (idempotency keys from sources), ``cli`` (``casework items``).
"""

from casework.items.states import ItemState

__all__ = ["ItemState"]

"""The IMAP poller against a real Dovecot, a real broker and a real Redis.

Every test works on a folder and a mailbox name of its own, so checkpoints, leases and
published records never mix between tests.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from email_ingest.context import MailboxContext
from email_ingest.pipeline import build_inbound
from email_ingest.poller import MailboxPoller
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import InboundMessage

from .conftest import OUR_ADDRESS, Imap, InboundTap, mail, until

PROCESSED = "$HelpdeskProcessed"


async def settle() -> None:
    """Give a would-be duplicate time to reach the tap before counting exactly."""
    await asyncio.sleep(0.6)


def subjects(records: list[dict[str, Any]]) -> list[str]:
    return [r["subject"] for r in records]


def keys(records: list[dict[str, Any]]) -> list[str]:
    return [r["idempotency_key"] for r in records]


async def checkpoint_of(poller: MailboxPoller) -> tuple[int, int]:
    cp = await poller.checkpoints.load(poller.mailbox.name)
    assert cp is not None
    return cp.uidvalidity, cp.last_uid


async def test_mail_present_before_start_is_published_once_in_uid_order_then_flagged(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox()
    imap.append(box.folder, *(mail(box.name, n) for n in range(1, 5)))
    poller = make_poller(box)
    poller.start()
    await tap.wait_for(box.account, 4)
    await until(lambda: poller.state.waiting, 10, "poller caught up")
    await poller.stop()
    await settle()

    records = tap.of(box.account)
    assert subjects(records) == [f"{box.name} question {n}" for n in range(1, 5)]
    assert len(set(keys(records))) == 4
    flags = imap.flags(box.folder)
    assert len(flags) == 4
    assert all({PROCESSED, "\\Seen"} <= f for f in flags.values()), flags
    assert (await checkpoint_of(poller))[1] == max(flags)
    assert poller.state.published == 4


async def test_move_mode_moves_processed_mail_to_the_folder(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    done = f"Done-{uuid.uuid4().hex[:8]}"
    box = make_mailbox(processed=f"move:{done}")
    imap.append(box.folder, mail(box.name, 1), mail(box.name, 2))
    poller = make_poller(box)
    poller.start()
    await tap.wait_for(box.account, 2)
    await until(lambda: poller.state.waiting, 10, "poller caught up")
    await poller.stop()
    assert imap.count(box.folder) == 0
    assert imap.count(done) == 2
    assert len(tap.of(box.account)) == 2


async def test_mail_appended_while_running_arrives_through_idle(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox()
    poller = make_poller(box)
    poller.start()
    await until(lambda: poller.state.waiting, 10, "poller in IDLE")
    imap.append(box.folder, mail(box.name, 1))
    records = await tap.wait_for(box.account, 1)
    assert subjects(records) == [f"{box.name} question 1"]
    assert poller.state.sessions == 1  # no reconnect: the IDLE push brought it
    await until(lambda: PROCESSED in imap.flags(box.folder).get(1, set()), 5, "mail flagged")


async def test_polling_mode_without_idle(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox(use_idle=False, poll_interval_seconds=0.2)
    poller = make_poller(box)
    poller.start()
    await until(lambda: poller.state.waiting, 10, "poller waiting")
    imap.append(box.folder, mail(box.name, 1))
    await tap.wait_for(box.account, 1)
    assert poller.state.sessions == 1


async def test_restarted_poller_neither_republishes_nor_misses(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox()
    imap.append(box.folder, mail(box.name, 1), mail(box.name, 2))
    first = make_poller(box)
    first.start()
    await tap.wait_for(box.account, 2)
    await until(lambda: first.state.waiting, 10, "first poller caught up")
    await first.stop()

    imap.append(box.folder, mail(box.name, 3), mail(box.name, 4))  # while nobody polls
    second = make_poller(box, replica="replica-b")
    second.start()
    await tap.wait_for(box.account, 4)
    await until(lambda: second.state.waiting, 10, "second poller caught up")
    await settle()
    records = tap.of(box.account)
    assert subjects(records) == [f"{box.name} question {n}" for n in range(1, 5)]
    assert second.state.published == 2


async def test_uidvalidity_change_rescans_the_folder_with_the_same_idempotency_keys(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox(idle_timeout_seconds=1.0)
    raws = [mail(box.name, 1), mail(box.name, 2)]
    imap.append(box.folder, *raws)
    poller = make_poller(box)
    poller.start()
    before = await tap.wait_for(box.account, 2)
    await until(lambda: poller.state.waiting, 10, "poller caught up")
    old_validity, _ = await checkpoint_of(poller)

    # The folder is recreated under the running poller: same mails, new UIDVALIDITY.
    imap.delete(box.folder)
    imap.create(box.folder)
    imap.append(box.folder, *raws)
    new_validity = imap.uidvalidity(box.folder)
    assert new_validity != old_validity

    after = (await tap.wait_for(box.account, 4))[2:]
    assert keys(after) == keys(before)
    await until(lambda: poller.state.waiting, 10, "poller caught up again")
    assert await checkpoint_of(poller) == (new_validity, 2)


async def test_imap_server_restart_is_survived(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap, restart_dovecot
) -> None:
    box = make_mailbox()
    poller = make_poller(box)
    poller.start()
    await until(lambda: poller.state.waiting, 10, "poller in IDLE")
    await asyncio.to_thread(restart_dovecot)
    imap.append(box.folder, mail(box.name, 1))
    await tap.wait_for(box.account, 1, timeout=20)
    assert poller.state.sessions >= 2
    assert not poller._task.done()  # type: ignore[union-attr]


async def test_one_replica_holds_the_lease_and_another_takes_over_when_it_dies(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox()
    a = make_poller(box, replica="replica-a")
    b = make_poller(box, replica="replica-b")
    a.start()
    b.start()
    await until(lambda: a.state.holding_lease or b.state.holding_lease, 10, "a lease holder")
    imap.append(box.folder, *(mail(box.name, n) for n in range(1, 4)))
    await tap.wait_for(box.account, 3)
    holder, other = (a, b) if a.state.holding_lease else (b, a)
    assert not other.state.holding_lease
    assert other.state.sessions == 0

    await holder.abandon()  # dies without releasing: the lease must expire first
    assert await holder.lease.holder() == holder.lease.owner
    imap.append(box.folder, mail(box.name, 4), mail(box.name, 5))
    await tap.wait_for(box.account, 5, timeout=15)
    assert other.state.holding_lease
    await until(lambda: other.state.waiting, 10, "new holder caught up")
    await settle()
    records = tap.of(box.account)
    assert sorted(subjects(records)) == sorted(f"{box.name} question {n}" for n in range(1, 6))
    assert len(set(keys(records))) == 5


async def test_loop_mail_from_our_own_address_is_flagged_not_published(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    box = make_mailbox()
    imap.append(box.folder, mail(box.name, 1, sender=OUR_ADDRESS), mail(box.name, 2))
    poller = make_poller(box)
    poller.start()
    records = await tap.wait_for(box.account, 1)
    await until(lambda: poller.state.waiting, 10, "poller caught up")
    await settle()
    assert subjects(tap.of(box.account)) == [f"{box.name} question 2"] == subjects(records)
    assert poller.state.skipped == 1
    assert all(PROCESSED in f for f in imap.flags(box.folder).values())


async def test_wrong_password_is_retried_with_growing_backoff_without_crashing(
    make_mailbox, make_poller
) -> None:
    bad = "bad-password-5c1e"
    box = make_mailbox(password=bad)
    poller = make_poller(box)
    with structlog.testing.capture_logs() as logs:
        task = poller.start()
        await until(lambda: poller.state.connect_failures >= 4, 30, "four login attempts")
        assert not task.done()
        await poller.stop()
    assert "AUTHENTICATIONFAILED" in (poller.state.last_error or "")
    failures = [e for e in logs if e["event"] == "imap_auth_failed"]
    assert len(failures) >= 4 and all(e["log_level"] == "error" for e in failures)
    delays = [e["delay_seconds"] for e in logs if e["event"] == "imap_reconnect_scheduled"]
    assert delays[:3] == sorted(delays[:3]) and delays[2] > delays[0]
    assert bad not in repr(logs)


async def test_a_mail_that_cannot_be_converted_is_recorded_and_skipped(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    async def convert(raw: bytes, ctx: MailboxContext, blobs: BlobStore) -> InboundMessage:
        if b"question 2" in raw:
            raise ValueError("cannot make sense of this mail")
        return await build_inbound(raw, ctx, blobs)

    box = make_mailbox()
    imap.append(box.folder, *(mail(box.name, n) for n in range(1, 4)))
    poller = make_poller(box, convert=convert)
    poller.start()
    await tap.wait_for(box.account, 2)
    await until(lambda: poller.state.waiting, 10, "poller caught up")
    await poller.stop()
    assert subjects(tap.of(box.account)) == [f"{box.name} question {n}" for n in (1, 3)]
    flags = imap.flags(box.folder)
    assert PROCESSED in flags[1] and PROCESSED in flags[3]
    assert PROCESSED not in flags[2] and "\\Seen" not in flags[2]
    (failed,) = await poller.failures.list(box.name)
    assert failed["uid"] == 2 and "ValueError" in failed["reason"]
    assert failed["raw_sha256"] and len(failed["raw_sha256"]) == 64
    assert (await checkpoint_of(poller))[1] == 3


async def test_stop_finishes_the_mail_in_flight(
    make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    async def slow(raw: bytes, ctx: MailboxContext, blobs: BlobStore) -> InboundMessage:
        await asyncio.sleep(0.3)
        return await build_inbound(raw, ctx, blobs)

    box = make_mailbox()
    imap.append(box.folder, *(mail(box.name, n) for n in range(1, 7)))
    poller = make_poller(box, convert=slow)
    poller.start()
    await tap.wait_for(box.account, 1)
    await poller.stop()
    await settle()
    published = len(tap.of(box.account))
    assert 1 <= published < 6
    flags = imap.flags(box.folder)
    flagged = sorted(uid for uid, f in flags.items() if PROCESSED in f)
    assert flagged == list(range(1, published + 1))
    assert (await checkpoint_of(poller))[1] == published
    assert await poller.lease.holder() is None  # released on a graceful stop

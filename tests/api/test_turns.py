"""``api.turns``: the hot reads take turns on the loop, one per loop pass, first come first
served, and a turn is never lost to a client that leaves or a request that fails."""

from __future__ import annotations

import asyncio

from interchange.api.turns import Turns


async def _take(turns: Turns, name: str, log: list[str], fail: bool = False) -> None:
    async with turns:
        log.append(f"{name}+")
        if fail:
            raise RuntimeError(name)
        log.append(f"{name}-")  # a holder never awaits: nobody runs between + and -


def test_turns_are_granted_one_at_a_time_in_arrival_order() -> None:
    async def main() -> list[str]:
        turns, log = Turns(), list[str]()
        await asyncio.gather(*(_take(turns, n, log) for n in "abcde"))
        return log

    assert asyncio.run(main()) == [x for n in "abcde" for x in (f"{n}+", f"{n}-")]


def test_a_turn_waits_for_a_loop_pass_so_what_arrived_meanwhile_is_read_first() -> None:
    """The point of turns: a request that arrives while others are answered gets in line
    before the next of them runs, not after the whole batch."""

    async def main() -> list[str]:
        turns, log = Turns(), list[str]()
        first = asyncio.ensure_future(_take(turns, "a", log))
        asyncio.get_running_loop().call_soon(log.append, "socket read")  # arrives meanwhile
        await first
        return log

    assert asyncio.run(main()) == ["socket read", "a+", "a-"]


def test_a_failing_holder_hands_the_turn_on() -> None:
    async def main() -> list[str]:
        turns, log = Turns(), list[str]()
        results = await asyncio.gather(
            _take(turns, "a", log, fail=True), _take(turns, "b", log), return_exceptions=True
        )
        assert isinstance(results[0], RuntimeError) and results[1] is None
        return log

    assert asyncio.run(main()) == ["a+", "b+", "b-"]


def test_a_client_that_leaves_never_takes_the_turn_with_it() -> None:
    """Cancelled at every point of its wait (queued, chosen, granted but not yet run, or
    running): the one behind it still gets its turn, and nothing deadlocks."""

    async def once(passes: int) -> list[str]:
        turns, log = Turns(), list[str]()
        holder = asyncio.ensure_future(_take(turns, "a", log))
        leaver = asyncio.ensure_future(_take(turns, "x", log))
        after = asyncio.ensure_future(_take(turns, "c", log))
        for _ in range(passes):
            await asyncio.sleep(0)
        leaver.cancel()
        await asyncio.wait_for(asyncio.gather(holder, after), timeout=5)
        await asyncio.gather(leaver, return_exceptions=True)
        await asyncio.wait_for(_take(turns, "d", log), timeout=5)  # and the next one too
        return log

    outcomes = set()
    for passes in range(10):
        log = asyncio.run(once(passes))
        assert log[:2] == ["a+", "a-"] and log[-4:] == ["c+", "c-", "d+", "d-"], (passes, log)
        outcomes.add("x+" in log)
    assert outcomes == {True, False}  # cancelled both before and after its turn came

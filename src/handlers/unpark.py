"""Unpark function: brings parked endpoints back when their idle window ends (recreate from the
snapshot, then restore scaling once InService). It deletes nothing; parking is ``handlers.park``'s."""

from __future__ import annotations

from handlers.park import parking_handler

handler = parking_handler(frozenset({"unpark"}))

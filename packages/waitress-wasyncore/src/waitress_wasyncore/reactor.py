"""One reactor per socket map: the selector, interest bookkeeping and the timers.

Rules this module keeps:

- The socket map (fd -> dispatcher) is the truth.  An event is delivered to
  ``map[fd]`` only when that is the very object registered for the fd, so a
  dispatcher closed, deleted from the map or replaced earlier in the same
  select() batch never receives a stale event.
- Interest is written to the selector when it changes (``update``), never
  recomputed per connection per iteration.  The exception is a dispatcher
  whose class overrides ``readable()``/``writable()`` (asyncore style): only
  those are asked, once per iteration.
- A reactor owns an OS selector (an epoll/kqueue descriptor): it is released
  as soon as its map, its channels and its timers are all empty, so that
  short-lived plain-dict maps do not leak descriptors or references.
"""

import logging
import math
import os
import select
import selectors
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

from .errors import EXIT_EXCEPTIONS, log_quietly
from .timers import TimerQueue

logger = logging.getLogger("waitress")

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE

# select() with nothing to watch is an error on Windows, a plain sleep elsewhere.
_EMPTY_SELECT_FAILS = os.name == "nt"

#: Sockets Windows' select() takes in one call (CPython's FD_SETSIZE there);
#: one more and it raises ValueError.  Elsewhere select() is bounded by
#: descriptor numbers, not counts, and is only used when poll is missing.
SELECT_CAPACITY: Optional[int] = 512 if os.name == "nt" else None

SelectorFactory = Callable[[], selectors.BaseSelector]

# What an epoll event means, in the selectors module's terms (as its
# EpollSelector reads it): any bit but EPOLLOUT (EPOLLIN, EPOLLHUP, EPOLLERR)
# makes the fd readable, any bit but EPOLLIN writable.
_EPOLL_READ_BITS = ~getattr(select, "EPOLLOUT", 0)
_EPOLL_WRITE_BITS = ~getattr(select, "EPOLLIN", 0)


# The epoll bits the stdlib's EpollSelector registers for each interest.
_EPOLL_MASKS = {
    EVENT_READ: getattr(select, "EPOLLIN", 0),
    EVENT_WRITE: getattr(select, "EPOLLOUT", 0),
    EVENT_READ | EVENT_WRITE: getattr(select, "EPOLLIN", 0) | getattr(select, "EPOLLOUT", 0),
}
_SelectorKey = selectors.SelectorKey


def _epoll_behind(selector: selectors.BaseSelector) -> Tuple[Any, Optional[Dict[int, Any]]]:
    """The epoll object and the fd -> key dict of a stdlib ``EpollSelector``.

    ``Reactor.poll`` reads events from these directly: ``select()`` builds a
    (key, events) tuple and makes a method call per event before the reactor
    loops over them again, about 2% of a small request's instructions.
    Registrations write them directly too, as the selector would: its
    ``register()`` and ``unregister()`` cost about 170 bytecodes per
    connection, 6% of a request on a connection of its own.  The
    attributes are private to the stdlib, so any other selector, or a
    Python where they changed, gets ``(None, None)`` and the public path.
    """
    if type(selector) is not getattr(selectors, "EpollSelector", None):
        return None, None
    epoll = getattr(selector, "_selector", None)
    keys = getattr(selector, "_fd_to_key", None)
    if type(epoll) is not select.epoll or type(keys) is not dict:
        return None, None
    return epoll, keys


class SocketMap(dict):
    """A socket map (fd -> dispatcher) that carries its own reactor.

    The module-level ``socket_map`` is one.  A plain dict works as a map too
    (its reactor is then kept in a registry keyed by the dict's identity);
    this class only saves that look-up and lets a test choose the selector.
    """

    def __init__(
        self, *args: object, selector_factory: Optional[SelectorFactory] = None, **kw: object
    ) -> None:
        super().__init__(*args, **kw)
        self._reactor: Optional["Reactor"] = None
        self.selector_factory = selector_factory


_plain_reactors: Dict[int, "Reactor"] = {}
_registry_lock = threading.Lock()


def reactor_for(socket_map: dict) -> "Reactor":
    """The reactor of ``socket_map``, created on first use."""
    if type(socket_map) is SocketMap:
        reactor = socket_map._reactor
        if reactor is None:
            with _registry_lock:
                reactor = socket_map._reactor
                if reactor is None:
                    reactor = socket_map._reactor = Reactor(socket_map, socket_map.selector_factory)
        return reactor
    reactor = _plain_reactors.get(id(socket_map))
    if reactor is None or reactor.map is not socket_map:
        with _registry_lock:
            reactor = _plain_reactors.get(id(socket_map))
            if reactor is None or reactor.map is not socket_map:
                reactor = Reactor(socket_map, getattr(socket_map, "selector_factory", None))
                _plain_reactors[id(socket_map)] = reactor
    return reactor


def max_sockets(socket_map: dict) -> Optional[int]:
    """How many dispatchers ``socket_map``'s loop can watch, or None for no fixed bound.

    Only ``select()`` on Windows has one (512).  An owner that accepts
    connections stays below it: one socket more, and every select() fails.
    """
    if SELECT_CAPACITY is None:
        return None
    selector = reactor_for(socket_map)._selector
    return SELECT_CAPACITY if isinstance(selector, selectors.SelectSelector) else None


def existing_reactor(socket_map: dict) -> Optional["Reactor"]:
    """The reactor of ``socket_map`` if it has one, without creating it."""
    if type(socket_map) is SocketMap:
        return socket_map._reactor
    reactor = _plain_reactors.get(id(socket_map))
    if reactor is not None and reactor.map is socket_map:
        return reactor
    return None


def _is_open(fd: int) -> bool:
    """Whether ``fd`` is still an open descriptor (or socket handle on Windows)."""
    if os.name == "nt":
        try:
            select.select([fd], [], [], 0)
        except (OSError, ValueError):
            return False
        return True
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _can_attach(obj: object) -> bool:
    return isinstance(getattr(obj, "_events", None), int) and hasattr(obj, "_asks_interest")


class Reactor:
    """The selector, registrations and timers of one socket map."""

    def __init__(
        self, socket_map: dict, selector_factory: Optional[SelectorFactory] = None
    ) -> None:
        self.map = socket_map
        self._selector: Optional[selectors.BaseSelector] = (
            selector_factory or selectors.DefaultSelector
        )()
        self._epoll, self._keys = _epoll_behind(self._selector)
        # fd -> dispatcher that joined through add_channel (or was adopted).
        self._attached: Dict[int, object] = {}
        # fd -> events registered in the selector (never 0: no interest means unregistered).
        self._selected: Dict[int, int] = {}
        # fd -> dispatcher whose class overrides readable()/writable().
        self._legacy: Dict[int, object] = {}
        # fd -> map entry that is not one of our dispatchers (never dispatched to).
        self._foreign: Dict[int, object] = {}
        # fds registered since the current select() returned: events of that
        # batch for them belong to an earlier file under the same number.
        self._fresh: set = set()
        self.timers = TimerQueue()
        self._lock = threading.RLock()

    @property
    def closed(self) -> bool:
        return self._selector is None

    # -- registration ------------------------------------------------------
    #
    # attach/detach/reconcile may run on any thread (a test closing a channel
    # from the main thread while the loop runs, as WebTest does): they hold
    # the lock, so reconcile never sees a half-done attach.  update() and the
    # dispatch path are loop-thread only and take no lock; whatever a race
    # leaves in the selector is cleaned by _stale() at its first event.

    def attach(self, obj: Any, fd: int) -> bool:
        """Put ``obj`` in the map under ``fd`` and register its interest.

        Returns False when this reactor was closed meanwhile (ask
        ``reactor_for`` again).  On failure (a closed or invalid descriptor)
        nothing is left behind and the error is raised: a dispatcher is
        never half-registered.
        """
        with self._lock:
            if self._selector is None:
                return False
            old = self._attached.get(fd)
            if old is not None and old is not obj:
                self._forget(fd, old)
            self._foreign.pop(fd, None)
            self.map[fd] = obj
            self._attached[fd] = obj
            obj._reactor = self
            if obj._asks_interest:
                self._legacy[fd] = obj
            try:
                self._apply(fd, obj, obj._events)
            except BaseException:
                self._forget(fd, obj)
                if self.map.get(fd) is obj:
                    del self.map[fd]
                self._release_if_idle()
                raise
            return True

    def detach(self, obj: Any, fd: Optional[int]) -> None:
        """Remove ``obj`` from the selector and the map (harmless twice)."""
        with self._lock:
            if fd is not None and self._attached.get(fd) is obj:
                self._forget(fd, obj)
                if self.map.get(fd) is obj:
                    del self.map[fd]
            if getattr(obj, "_reactor", None) is self:
                obj._reactor = None
            self._release_if_idle()

    def update(self, obj: Any, events: int) -> None:
        """Register a changed interest of ``obj`` (``set_interest``, loop thread)."""
        fd = obj._fileno
        if self._attached.get(fd) is not obj or self._selector is None:
            return
        try:
            self._apply(fd, obj, events)
        except (OSError, ValueError, KeyError):
            self._recover(fd, obj, events)

    def _apply(self, fd: int, obj: Any, events: int) -> None:
        if events:
            if fd in self._selected:
                self._modify(fd, events, obj)
            else:
                self._register(fd, events, obj)
                self._fresh.add(fd)
            self._selected[fd] = events
        elif self._selected.pop(fd, 0):
            self._unregister(fd)

    # The selector's register/modify/unregister, raising as they do
    # (KeyError for an fd registered or not, OSError from the OS); on Linux
    # they write the epoll object and the key dict directly (_epoll_behind).

    def _register(self, fd: int, events: int, obj: Any) -> None:
        keys = self._keys
        if keys is None:
            self._selector.register(fd, events, obj)
            return
        if fd in keys:
            raise KeyError("fd %d is already registered" % fd)
        self._epoll.register(fd, _EPOLL_MASKS[events])
        keys[fd] = _SelectorKey(fd, fd, events, obj)

    def _modify(self, fd: int, events: int, obj: Any) -> None:
        keys = self._keys
        if keys is None:
            self._selector.modify(fd, events, obj)
            return
        if keys[fd].events != events:
            try:
                self._epoll.modify(fd, _EPOLL_MASKS[events])
            except BaseException:
                del keys[fd]  # as the selector does: a refused fd is no longer registered
                raise
        keys[fd] = _SelectorKey(fd, fd, events, obj)

    def _unregister(self, fd: int) -> None:
        keys = self._keys
        if keys is None:
            self._selector.unregister(fd)
            return
        del keys[fd]
        try:
            self._epoll.unregister(fd)
        except OSError:
            pass  # closed already: the kernel dropped it

    def _recover(self, fd: int, obj: Any, events: int) -> None:
        """The selector refused a change (fd closed or reused): start afresh, or drop it."""
        self._unregister_quietly(fd)
        if not events:
            return
        try:
            self._register(fd, events, obj)
        except (OSError, ValueError, KeyError):
            self.drop_broken(fd, obj)
        else:
            self._selected[fd] = events
            self._fresh.add(fd)

    def _unregister_quietly(self, fd: int) -> None:
        self._selected.pop(fd, None)
        if self._selector is not None:
            try:
                self._unregister(fd)
            except (KeyError, ValueError, OSError):
                pass

    def _forget(self, fd: int, obj: Any) -> None:
        """Drop every trace of ``obj`` under ``fd`` except its map entry."""
        if self._attached.get(fd) is obj:
            del self._attached[fd]
            if self._legacy.get(fd) is obj:
                del self._legacy[fd]
            self._unregister_quietly(fd)
        if getattr(obj, "_reactor", None) is self:
            obj._reactor = None

    def drop_broken(self, fd: int, obj: Any) -> None:
        """Take a descriptor the selector cannot watch out of the map, then close its dispatcher."""
        with self._lock:
            self._forget(fd, obj)
            if self.map.get(fd) is obj:
                del self.map[fd]
        logger.debug("Dropping %r: its descriptor %s cannot be watched", obj, fd)
        try:
            obj.handle_close()
        except EXIT_EXCEPTIONS:
            raise
        except BaseException:
            logger.exception("Closing the broken channel %r failed", obj)
            try:
                obj.close()
            except Exception:
                pass
        with self._lock:
            self._release_if_idle()

    def out_of_step(self) -> bool:
        """Whether the map was changed behind our back.

        Its size tells, for a ``del map[fd]`` by the user or an entry put in
        the map directly, except when an entry this reactor cannot watch
        (not one of our dispatchers) was replaced under its descriptor by
        one it can (asyncore code whose ``add_channel`` writes the map
        itself): those few entries are compared one by one.  The server
        puts none in its map, so its loop pays a length comparison and a
        truth test.
        """
        socket_map = self.map
        if len(socket_map) != len(self._attached) + len(self._foreign):
            return True
        foreign = self._foreign
        return bool(foreign) and any(socket_map.get(fd) is not obj for fd, obj in list(foreign.items()))

    def reconcile(self) -> None:
        """Bring the registrations in line with a map that was changed behind our back
        (runs only when ``out_of_step()``)."""
        broken = []
        with self._lock:
            socket_map = self.map
            if not self.out_of_step():
                return
            for fd, obj in list(self._attached.items()):
                if socket_map.get(fd) is not obj:
                    self._forget(fd, obj)
            for fd, obj in list(self._foreign.items()):
                if socket_map.get(fd) is not obj:
                    del self._foreign[fd]
            for fd, obj in list(socket_map.items()):
                if fd in self._attached or fd in self._foreign:
                    continue
                if not _can_attach(obj):
                    self._foreign[fd] = obj
                    continue
                previous = getattr(obj, "_reactor", None)
                if previous is not None and previous is not self:
                    previous.detach(obj, getattr(obj, "_fileno", fd))
                    socket_map[fd] = obj
                try:
                    self.attach(obj, fd)
                except (OSError, ValueError, KeyError):
                    broken.append((fd, obj))
        for fd, obj in broken:
            self.drop_broken(fd, obj)

    # -- running -----------------------------------------------------------

    def poll(self, timeout: Optional[float]) -> None:
        """One iteration: wait for events (or the next timer) and dispatch them."""
        if self._legacy:
            self._ask_legacy()
        socket_map = self.map
        if len(socket_map) != len(self._attached) + len(self._foreign) or self._foreign:
            self.reconcile()  # which returns at once unless out_of_step()
        timers = self.timers
        if timers._heap:
            timeout = timers.wait_time(timeout)
        selector = self._selector
        if selector is None:
            return
        keys = self._keys
        try:
            if keys is not None:
                # The fast path (Linux): raw (fd, epoll bits) pairs, keys looked up here.
                if timeout is None:
                    timeout = -1
                elif timeout > 0:
                    timeout = math.ceil(timeout * 1e3) * 1e-3  # at least the timeout
                else:
                    timeout = 0
                ready = self._epoll.poll(timeout, len(keys) or 1)
                read_bits = _EPOLL_READ_BITS
                write_bits = _EPOLL_WRITE_BITS
            else:
                keys = {}
                ready = []
                if _EMPTY_SELECT_FAILS and not self._selected:
                    # Windows' select() refuses three empty sets: just wait.
                    time.sleep(timeout if timeout is not None else 1.0)
                else:
                    for key, mask in selector.select(timeout):
                        keys[key.fd] = key  # as registered when select() returned
                        ready.append((key.fd, mask))
                read_bits = EVENT_READ
                write_bits = EVENT_WRITE
        except InterruptedError:
            return
        except (OSError, ValueError):
            if self._selector is None:
                return  # closed by another thread while we waited
            # select() refuses the whole set when one fd was closed behind
            # our back: drop the culprits instead of failing every iteration.
            if not self._drop_unselectable():
                raise
            return
        map_get = socket_map.get
        keys_get = keys.get
        fresh = self._fresh
        if fresh:
            fresh.clear()
        for fd, bits in ready:
            key = keys_get(fd)
            if key is None or fd in fresh:
                # Unregistered, or registered anew, by a handler earlier in
                # this batch; the event, if still true, comes again next time
                # (level-triggered).
                continue
            obj = key.data
            if map_get(fd) is not obj:
                self._stale(fd, obj)
                continue
            wanted = key.events
            try:
                if bits & read_bits and wanted & EVENT_READ:
                    obj.handle_read_event()
                    if bits & write_bits and wanted & EVENT_WRITE and map_get(fd) is obj:
                        obj.handle_write_event()
                elif bits & write_bits and wanted & EVENT_WRITE:
                    obj.handle_write_event()
            except EXIT_EXCEPTIONS:
                raise
            except BaseException:
                self.handler_failed(obj)
        if timers._heap:
            timers.run_due()
            with self._lock:
                self._release_if_idle()

    def _ask_legacy(self) -> None:
        for obj in list(self._legacy.values()):
            try:
                read = bool(obj.readable())
                write = (not obj.accepting) and bool(obj.writable())
                obj.set_interest(read, write)
            except EXIT_EXCEPTIONS:
                raise
            except BaseException:
                self.handler_failed(obj)

    def _stale(self, fd: int, obj: Any) -> None:
        """An event for ``obj``, which the map no longer holds under ``fd``: never dispatch it.

        Either the map was changed directly (adopt what it holds now), or a
        registration outlived its dispatcher (remove it, so that a ready but
        unowned fd cannot make the loop spin).
        """
        with self._lock:
            if self._selector is None:
                return
            if self._attached.get(fd) is obj:
                self._forget(fd, obj)
            current = self._attached.get(fd)
            try:
                registered = self._selector.get_key(fd).data
            except (KeyError, ValueError):
                registered = None
            if registered is obj:
                if current is not None:
                    self._recover(fd, current, current._events)
                else:
                    self._unregister_quietly(fd)
        if self.out_of_step():
            self.reconcile()
        with self._lock:
            self._release_if_idle()

    def _drop_unselectable(self) -> bool:
        """Drop the registered fds that are no longer open descriptors; True if any."""
        dropped = False
        for fd, obj in list(self._attached.items()):
            if fd in self._selected and not _is_open(fd):
                self.drop_broken(fd, obj)
                dropped = True
        return dropped

    def handler_failed(self, obj: Any) -> None:
        """A handler of ``obj`` raised: let it handle the error; never let it stop the loop."""
        try:
            obj.handle_error()
        except EXIT_EXCEPTIONS:
            raise
        except BaseException:
            log_quietly(logger.exception, "handle_error() of %r raised", obj)
            try:
                obj.close()
            except Exception:
                log_quietly(logger.exception, "close() of %r raised", obj)

    # -- lifetime ----------------------------------------------------------

    def _release_if_idle(self) -> None:
        if not self._attached and not self.map and not len(self.timers):
            self.close()

    def close(self) -> None:
        """Forget every registration and timer, close the selector, leave the registry."""
        with self._lock:
            selector = self._selector
            if selector is None:
                return
            for fd, obj in list(self._attached.items()):
                self._forget(fd, obj)
            self._foreign.clear()
            self.timers.clear()
            self._selector = None
            self._epoll = self._keys = None
            socket_map = self.map
            with _registry_lock:
                if type(socket_map) is SocketMap:
                    if socket_map._reactor is self:
                        socket_map._reactor = None
                elif _plain_reactors.get(id(socket_map)) is self:
                    del _plain_reactors[id(socket_map)]
            selector.close()

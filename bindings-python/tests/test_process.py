"""Process-level behaviour: a thread hogging the GIL, ``del`` while events
flow, ``fork()``, and several processes in one cluster. Each risky case runs
in a child process with a timeout, so a hang fails the test instead of
stalling the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(__file__)


def run(code: str, timeout: float = 60) -> str:
    """Runs ``code`` in a fresh interpreter (with the tests' helpers importable)."""
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def test_a_thread_holding_the_gil_for_8_seconds_does_not_get_its_node_suspected() -> None:
    out = run(
        """
        import sys, threading, time
        from conftest import config, wait_until
        import rumour
        from rumour import blocking
        a = blocking.Node(config("gil-a")).start()
        others = [blocking.Node(config(f"gil-{i}")).start() for i in range(2)]
        for o in others:
            o.join(a.addr)
        assert wait_until(lambda: all(len(n.members()) == 3 for n in [a, *others]))
        watchers = [o.events() for o in others]
        # Hold the GIL: no thread switch for the next 8 seconds.
        sys.setswitchinterval(30)
        end = time.monotonic() + 8
        while time.monotonic() < end:
            pass
        sys.setswitchinterval(0.005)
        time.sleep(1)
        suspicions = [e for w in watchers for e in iter(lambda w=w: w.get(timeout=0.1), None)
                      if isinstance(e, (rumour.MemberSuspect, rumour.MemberFailed))]
        print("suspicions", len(suspicions))
        assert not suspicions, suspicions
        for n in [a, *others]:
            n.close()
        """,
        timeout=90,
    )
    assert "suspicions 0" in out


def test_del_while_events_flow_does_not_hang() -> None:
    out = run(
        """
        import gc, time
        from conftest import config
        from rumour import blocking
        a = blocking.Node(config("del-a")).start()
        b = blocking.Node(config("del-b")).start()
        b.join(a.addr)
        events = a.events()
        a.on_event(lambda e: time.sleep(0.001))
        for i in range(300):
            b.broadcast(b"x%d" % i)
        del a
        gc.collect()
        b.close()
        print("done")
        """,
        timeout=60,
    )
    assert "done" in out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_node_made_after_fork_works_and_one_used_across_it_raises() -> None:
    out = run(
        """
        import os
        from conftest import config, wait_until
        import rumour
        from rumour import blocking
        parent = blocking.Node(config("fork-parent")).start()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                try:
                    parent.members()
                    code = 3
                except rumour.ForkError as e:
                    assert "fork" in str(e)
                child = blocking.Node(config("fork-child")).start()
                child.join(parent.addr)
                ok = wait_until(lambda: len(child.members()) == 2)
                child.close()
                code = code or (0 if ok else 4)
            except BaseException:
                code = 5
            os.write(w, bytes([code]))
            os._exit(0)
        os.waitpid(pid, 0)
        code = os.read(r, 1)[0]
        print("child", code)
        assert code == 0, code
        assert wait_until(lambda: parent.member("fork-child") is not None)
        parent.close()
        """,
        timeout=60,
    )
    assert "child 0" in out


def test_nodes_in_three_processes_form_one_cluster() -> None:
    seed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {HERE!r})
            from conftest import config, wait_until
            from rumour import blocking
            n = blocking.Node(config("proc-0")).start()
            print(n.addr, flush=True)
            ok = wait_until(lambda: len(n.members()) == 3, limit=30)
            print("seed sees", len(n.members()), flush=True)
            time.sleep(1)
            n.close()
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        addr = seed.stdout.readline().strip()
        joiners = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    textwrap.dedent(f"""
                    import sys, time
                    sys.path.insert(0, {HERE!r})
                    from conftest import config, wait_until
                    from rumour import blocking
                    n = blocking.Node(config("proc-{i}", seeds=[{addr!r}])).start()
                    assert wait_until(lambda: len(n.members()) == 3, limit=30)
                    time.sleep(2)
                    n.close()
                """),
                ],
            )
            for i in (1, 2)
        ]
        assert all(j.wait(60) == 0 for j in joiners)
        rest = seed.stdout.read()
        assert seed.wait(60) == 0
        assert "seed sees 3" in rest
    finally:
        seed.kill()

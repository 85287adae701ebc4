import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest

from simgen import stops
from simgen.quiet import c_output_silenced
from simgen.workers import _Lane


def where(file: int | str) -> tuple[int, int]:
    """The file a descriptor or a path is: its device and inode."""
    status = os.stat(file)
    return status.st_dev, status.st_ino


def test_a_stop_inside_a_silenced_block_is_raised_as_it_ends_with_stdout_and_stderr_back_in_place():
    """Raised halfway through putting stderr back, a stop's message went to /dev/null: 1 run in 7 of a loop of
    silenced blocks stopped by SIGTERM ended with exit status 143 and not a word."""
    before, reached = (where(1), where(2)), []
    with pytest.raises(KeyboardInterrupt):
        with c_output_silenced():
            assert where(1) == where(2) == where(os.devnull)
            signal.raise_signal(signal.SIGINT)
            reached.append(True)
    assert reached and (where(1), where(2)) == before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_simgens_own_handler_says_which_signal_stopped_a_deferred_block():
    code = ("import signal, sys\nfrom simgen import stops\nstops.handle_stops()\ntry:\n"
            "    with stops.deferred():\n        signal.raise_signal(signal.SIGTERM)\n        print('block ran')\n"
            "except KeyboardInterrupt:\n    print(stops.word(), stops.status())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["block ran", "terminated (SIGTERM) 143"], done.stderr


def test_a_tool_stopped_where_the_code_it_cut_through_raises_another_error_reports_the_stop():
    """A Ctrl-C inside OmegaConf.create while simgen-merge read a shard's config.yaml surfaced as "not valid YAML"
    naming a sound shard, with exit status 2 (4 of 88 stops): an error after a stop is the stop."""
    code = ("import signal\nfrom omegaconf import OmegaConf\nfrom simgen.errors import SimgenError\n"
            "from simgen.tools.cli import run_command\n"
            "def body():\n    try:\n        signal.raise_signal(signal.SIGINT)\n        OmegaConf.create('a: 1')\n"
            "    except KeyboardInterrupt:\n        raise SimgenError('config.yaml: not valid YAML') from None\n"
            "run_command('simgen-merge', body)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (130, "simgen-merge: interrupted"), done.stderr


def test_a_signal_whose_default_action_ends_the_process_is_not_held():
    """A pool worker keeps SIGTERM's default: stopping the pool ends it at once, even inside PyBullet."""
    code = ("import signal\nfrom simgen.quiet import c_output_silenced\nwith c_output_silenced():\n"
            "    signal.raise_signal(signal.SIGTERM)\nprint('went on')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM and "went on" not in done.stdout


def test_off_the_main_thread_the_handlers_are_left_alone():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_handler_inside_deferred()))
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]
    assert _handler_inside_deferred() is not signal.default_int_handler


def _handler_inside_deferred() -> object:
    with stops.deferred():
        return signal.getsignal(signal.SIGINT)


def test_a_stop_while_a_worn_out_worker_is_replaced_leaves_the_old_one_to_its_retiring_thread():
    """Raised before the lane held its new pool, the run's stop ended the old one too, from a second thread
    (a traceback: the thread closed a queue the stop had closed)."""
    pools: list[ProcessPoolExecutor] = []

    def start() -> ProcessPoolExecutor:
        pools.append(ProcessPoolExecutor(1))
        if len(pools) == 2:
            signal.raise_signal(signal.SIGINT)  # a Ctrl-C as the fresh worker's pool is made
        return pools[-1]

    lane = _Lane(start)
    with pytest.raises(KeyboardInterrupt):
        lane.replace()
    assert lane.pool is pools[1]
    for thread in threading.enumerate():
        if thread.name == "simgen-retire-worker":
            thread.join()
    assert pools[0]._shutdown_thread
    lane.pool.shutdown()

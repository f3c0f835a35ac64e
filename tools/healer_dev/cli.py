"""The ``healer`` command: classify logs, replay deliveries, run everything locally, show status."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from healer.errors import HealerError

if TYPE_CHECKING:
    import httpx


def _emit(out: TextIO, records: list[dict[str, Any]], as_json: bool) -> None:
    from healer_dev.broker import report

    for rec in records:
        if as_json:
            out.write(json.dumps(rec, sort_keys=True) + "\n")
        else:
            out.write("\n".join(report.lines(rec)) + "\n")
    out.flush()


def _replay_local(args: argparse.Namespace, out: TextIO) -> int:
    import tempfile

    from healer.services import Services
    from healer.settings import Settings
    from healer_dev.broker import report
    from healer_dev.broker.pipeline import in_process, offline_settings
    from healer_dev.broker.replay import delivery_files, event_of_file
    from healer_dev.broker.stages import repo_root

    files = delivery_files(args.paths)
    root = repo_root()
    all_records: list[dict[str, Any]] = []
    errors = 0
    with tempfile.TemporaryDirectory(prefix="healer-replay-") as scratch:
        settings = offline_settings(Settings.load(), root, scratch)
        services = Services(settings)
        pipeline = in_process(services, root=root, backoff_scale=args.backoff_scale)
        try:
            if pipeline.stages.missing and not args.json:
                for name, why in sorted(pipeline.stages.missing.items()):
                    out.write(f"! {name}: {why}\n")
            for path in files:
                if not args.json:
                    out.write(f"▶ {path}\n")
                try:
                    event = event_of_file(path, secret=settings.webhook_secret)
                except HealerError as exc:
                    errors += 1
                    out.write(
                        json.dumps({"delivery": str(path), "error": str(exc)}) + "\n"
                        if args.json
                        else f"  error: {exc}\n"
                    )
                    continue
                hops = pipeline.broker.publish(event)
                if args.agent_outcome:
                    from healer_dev.broker.finish import ledger_for, play_outcomes

                    hops += play_outcomes(
                        pipeline.broker.publish,
                        hops,
                        args.agent_outcome,
                        services.state,
                        secret=settings.webhook_secret,
                        pushes=ledger_for(settings),
                    )
                records = [
                    _with_messages(
                        _with_prompt(report.record(h.with_delivery(str(path))), services, args),
                        services,
                    )
                    for h in hops
                ]
                all_records += records
                _emit(out, records, args.json)
        finally:
            pipeline.close()
    if not args.json:
        out.write(report.summary(len(files), all_records, errors) + "\n")
    return 1 if errors or any(report.failed(r) for r in all_records) else 0


def _with_prompt(rec: dict[str, Any], services: Any, args: argparse.Namespace) -> dict[str, Any]:
    """A started remediation's record with the prompt it stored (read from the blob store)."""
    remediation = rec.get("remediation")
    key = remediation.get("prompt_key") if isinstance(remediation, dict) else None
    if not isinstance(remediation, dict) or not key:
        return rec
    try:
        prompt = services.blobs.get(key).decode("utf-8", "replace")
    except HealerError as exc:
        prompt = f"(prompt unreadable: {exc})"
    shown = {**remediation, "prompt": prompt, "prompt_full": args.show_prompt}
    coderun = _outbox_coderun(remediation.get("launched_to"))
    if coderun is not None:
        shown["coderun"] = coderun
    return {**rec, "remediation": shown}


def _outbox_coderun(location: Any) -> dict[str, Any] | None:
    """The CodeRun spawn wrote to the outbox, to show it as the platform will receive it."""
    import yaml

    if not isinstance(location, str) or not location.endswith(".yaml"):
        return None
    try:
        loaded = yaml.safe_load(Path(location).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _with_messages(rec: dict[str, Any], services: Any) -> dict[str, Any]:
    """Offline (recorded GitHub), an escalation's record with what it posted or would post."""
    settings = services.settings
    if not settings.github_recorded_dir:
        return rec
    from healer_dev.broker import report

    configured = bool(settings.discord_webhook_url)
    return report.with_messages(rec, services.blobs, discord_configured=configured)


def _replay_remote(args: argparse.Namespace, out: TextIO) -> int:
    import httpx

    from healer.settings import Settings
    from healer_dev.broker import report
    from healer_dev.broker.replay import delivery_files, event_of_file

    settings = Settings.load()
    files = delivery_files(args.paths)
    all_records: list[dict[str, Any]] = []
    errors = 0
    with httpx.Client(timeout=args.timeout) as client:
        for path in files:
            if not args.json:
                out.write(f"▶ {path}\n")
            try:
                event = event_of_file(path, secret=settings.webhook_secret)
            except HealerError as exc:
                errors += 1
                out.write(f"  error: {exc}\n")
                continue
            records = [
                {**r, "delivery": str(path)} for r in _send_to_broker(client, args.broker, event)
            ]
            all_records += records
            _emit(out, records, args.json)
    if not args.json:
        out.write(report.summary(len(files), all_records, errors) + "\n")
    return 1 if errors or any(report.failed(r) for r in all_records) else 0


def _send_to_broker(client: httpx.Client, broker: str, event: Any) -> list[dict[str, Any]]:
    """Post ``event`` to a broker's ingress: the ingress hop's record, then the hops a
    ``healer dev`` broker reports it made (a real broker reports none)."""
    import httpx

    from healer_dev.broker import report
    from healer_dev.broker.hops import Hop, Outcome
    from healer_dev.broker.local import encode, reason_of
    from healer_dev.broker.transport import Answer

    headers, body = encode(event)
    try:
        response = client.post(broker, headers=headers, content=body)
        answer = Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )
    except httpx.HTTPError as exc:
        answer = Answer(None, error=f"{type(exc).__name__}: {exc}")
    hop = Hop(
        stage="broker",
        type=str(event["type"]),
        id=str(event["id"]),
        status=answer.status,
        outcome=Outcome.INGRESS,
        reason=reason_of(answer) if answer.status != 202 or not answer.body else "",
    )
    return [report.record(hop), *_remote_hops(answer.body)]


def _remote_hops(body: bytes) -> list[dict[str, Any]]:
    """``healer dev``'s ingress answers with the hops it made; a real broker answers empty."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return []
    hops = parsed.get("hops") if isinstance(parsed, dict) else None
    return [h for h in hops if isinstance(h, dict)] if isinstance(hops, list) else []


def cmd_replay(args: argparse.Namespace) -> int:
    out = sys.stdout
    return _replay_remote(args, out) if args.broker else _replay_local(args, out)


def cmd_finish(args: argparse.Namespace) -> int:
    """Mark an outbox CodeRun finished: its update (and CI's result) into a broker."""
    from healer.settings import Settings
    from healer_dev.broker import report
    from healer_dev.broker.finish import finish_events, ledger_for, read_outbox
    from healer_dev.broker.pipeline import offline_settings

    settings = offline_settings(Settings.load(), _root())
    coderun = read_outbox(args.outbox or settings.coderun_outbox, args.name)
    events = finish_events(
        coderun,
        args.phase,
        ci=args.ci or "",
        summary=args.summary,
        secret=settings.webhook_secret,
        pushes=ledger_for(settings),
    )
    records: list[dict[str, Any]] = []
    if not args.broker:
        from healer_dev.broker import running

        dev = running.read()
        if dev is not None:
            args.broker = dev.ingress
            print(f"healer finish: posting to the running healer dev at {dev.ingress}")
    if args.broker:
        import httpx

        from healer_dev.broker.local import encode

        with httpx.Client(timeout=args.timeout) as client:
            for event in events:
                headers, body = encode(event)
                try:
                    response = client.post(args.broker, headers=headers, content=body)
                except httpx.HTTPError as exc:
                    print(f"healer finish: {args.broker}: {exc}", file=sys.stderr)
                    return 1
                if response.status_code >= 300:
                    print(f"healer finish: broker answered {response.status_code}", file=sys.stderr)
                    return 1
                records += _remote_hops(response.content)
    else:
        from healer.services import Services
        from healer_dev.broker.pipeline import in_process

        if settings.state_backend == "memory":
            print(
                "healer finish: no running healer dev found (.healer/dev.json) and no --broker: "
                "finishing against this process's own empty memory state store, so no stage "
                "knows the task. Start `healer dev` in this folder, pass --broker URL, or set "
                "HEALER_STATE_BACKEND=redis to share the state store.",
                file=sys.stderr,
            )
        services = Services(settings)
        pipeline = in_process(services, backoff_scale=args.backoff_scale)
        try:
            for event in events:
                records += [report.record(h) for h in pipeline.broker.publish(event)]
        finally:
            pipeline.close()
    _emit(sys.stdout, records, args.json)
    return 1 if any(report.failed(r) for r in records) else 0


def _root() -> Any:
    from healer_dev.broker.stages import repo_root

    return repo_root()


def cmd_dev(args: argparse.Namespace) -> int:
    import os
    import signal
    import threading

    from healer.services import Services
    from healer.settings import Settings
    from healer_dev.broker import dev, report

    def on_hop(hop: Any) -> None:
        print("\n".join(report.lines(report.record(hop))), flush=True)

    from healer_dev.broker.pipeline import offline_settings
    from healer_dev.broker.stages import repo_root

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settings = offline_settings(Settings.load(), repo_root())
    if settings.github_recorded_dir:
        print(f"GitHub API: recorded responses from {settings.github_recorded_dir}")
    services = Services(settings)
    server = dev.start(
        services, host=args.host, port=args.port, backoff_scale=args.backoff_scale, on_hop=on_hop
    )
    path = f"/{server.broker.topology.namespace}/{server.broker.broker}"
    print(f"broker ingress  {server.ingress_url}/  (also {server.ingress_url}{path})")
    for name, url in sorted(server.stage_urls.items()):
        print(f"{name:<15} {url}")
    for name, why in sorted(server.missing.items()):
        print(f"{name:<15} unavailable: {why}")
    from healer_dev.broker import running

    running.write(running.RunningDev(server.ingress_url, dict(server.stage_urls), os.getpid()))
    print(f"(written to {running.DEV_FILE}: healer status, finish and deadletters use it)")
    print("POST a CloudEvent or a GitHub webhook to the ingress; Ctrl-C stops.", flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM ends like Ctrl-C: .healer/dev.json is removed

    signal.signal(signal.SIGTERM, stop)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.remove()
        server.stop()
    return 0


def _status_url(args: argparse.Namespace) -> str:
    """The status function to ask: ``--url``, else the running ``healer dev``'s."""
    if getattr(args, "url", None):
        return str(args.url).rstrip("/")
    from healer_dev.broker import running

    dev = running.read()
    return dev.status.rstrip("/") if dev is not None and dev.status else ""


def _fetch_status(url: str, timeout: float) -> dict[str, Any]:
    import httpx

    try:
        with httpx.Client(timeout=timeout) as client:
            shown = client.get(f"{url}/api/status")
            letters = client.get(f"{url}/api/dead-letters")
        shown.raise_for_status()
        letters.raise_for_status()
        body, dead = shown.json(), letters.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise StatusUnreachable(f"the status function at {url} did not answer: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(dead, dict):
        raise StatusUnreachable(f"the status function at {url} answered something else")
    return {**body, "dead_letters": dead.get("dead_letters", []), "from": url}


def _local_status() -> dict[str, Any]:
    from healer.services import Services
    from healer.settings import Settings

    settings = Settings.load()
    if settings.state_backend == "memory":
        print(
            "healer status: no running healer dev found (.healer/dev.json) and no --url: "
            "reading this process's own memory state store, which is empty. Start `healer dev` "
            "in this folder, pass --url http://HOST:PORT (a status function), or set "
            "HEALER_STATE_BACKEND=redis (with HEALER_REDIS_URL) to read a shared store.",
            file=sys.stderr,
        )
    services = Services(settings)
    tasks = importlib.import_module("functions.status.tasks")
    letters = importlib.import_module("functions.status.deadletters")
    records = tasks.list_tasks(services.state)
    return {
        "tasks": tasks.as_json(records),
        "counts": tasks.counts(records),
        "by_failure_type": tasks.counts(records, "failure_type"),
        "dead_letters": letters.listing(services.blobs),
    }


def cmd_status(args: argparse.Namespace) -> int:
    tasks = importlib.import_module("functions.status.tasks")
    url = _status_url(args)
    shown = _fetch_status(url, args.timeout) if url else _local_status()
    records, dead = shown["tasks"], shown["dead_letters"]
    if args.json:
        print(json.dumps(shown, sort_keys=True))
        return 0
    if url:
        print(f"from {url}")
    counts = shown.get("counts") or {}
    total = shown.get("total", len(records))
    print(f"{total} tasks" + "".join(f", {n} {s}" for s, n in counts.items()))
    for task in (tasks.summary(tasks.TaskView.model_validate(r)) for r in records):
        print(
            f"  {task['task_id']:<32} {task['status']:<12} {task['repository']}#{task['run_id']} "
            f"{task['failure_type'] or '?'} agent={task['agent'] or '-'} "
            f"attempts={task['attempts']} updated={task['updated_at'] or '-'}"
        )
        for name in task["coderuns"]:
            print(f"      CodeRun {name}")
        if task["comment_url"]:
            print(f"      escalated: {task['comment_url']}")
    print(f"{len(dead)} dead letters")
    for letter in dead:
        print(_letter_line(letter))
    return 0


def _letter_line(letter: dict[str, Any]) -> str:
    name = letter.get("letter") or letter.get("id", "")
    reason = letter.get("reason") or f"code={letter.get('code', '')}"
    return f"  {name}  {letter.get('type', '')}  {reason}"


class StatusUnreachable(HealerError):
    status = 503


def _letter_stores(args: argparse.Namespace) -> tuple[Any, Any]:
    """The dead-letter module and the configured blob store (what ``healer dev`` writes to)."""
    from healer.settings import Settings
    from healer.stores.factory import blob_store
    from healer_dev.broker.pipeline import offline_settings

    settings = offline_settings(Settings.load(), _root())
    return importlib.import_module("functions.status.deadletters"), blob_store(settings)


def cmd_deadletters(args: argparse.Namespace) -> int:
    letters, blobs = _letter_stores(args)
    if args.action == "list":
        listed = letters.listing(blobs, limit=args.limit)
        for letter in listed:
            print(json.dumps(letter, sort_keys=True) if args.json else _letter_line(letter))
        if not args.json:
            print(f"{len(listed)} dead letters in {_where(blobs)}")
        return 0
    if not args.refs and not (args.action == "clear" and args.all):
        raise InvalidArguments(f"healer deadletters {args.action} needs at least one ID")
    if args.action == "clear" and args.all:
        keys = blobs.list(letters.PREFIX)
    else:
        keys = [key for ref in args.refs for key in letters.resolve(blobs, ref)]
    if args.action == "show":
        for key in keys:
            print(json.dumps({"key": key, **letters.read(blobs, key)}, indent=2, sort_keys=True))
        return 0
    if args.action == "clear":
        for key in keys:
            blobs.delete(key)
            print(f"cleared {letters.letter_id(key)}")
        return 0
    return _replay_letters(args, letters, blobs, keys)


def _where(blobs: Any) -> str:
    root = getattr(blobs, "root", None)
    return str(root) if root is not None else type(blobs).__name__


def _replay_letters(args: argparse.Namespace, letters: Any, blobs: Any, keys: list[str]) -> int:
    """Post each letter's event again: to ``--broker``, the running ``healer dev``, or an
    in-process pipeline on the configured stores. A letter whose delivery now succeeds is
    removed (unless ``--keep``); the stages' dedup makes a second delivery harmless."""
    from healer.settings import Settings
    from healer_dev.broker import report, running

    settings = Settings.load()
    broker = args.broker or ""
    if not broker:
        dev = running.read()
        broker = dev.ingress if dev is not None else ""
    failures = 0
    publish, close = _publisher(broker, args)
    try:
        for key in keys:
            event = letters.to_event(letters.read(blobs, key), secret=settings.webhook_secret)
            if not args.json:
                print(f"▶ {letters.letter_id(key)} → {broker or 'in-process pipeline'}")
            records = publish(event)
            _emit(sys.stdout, records, args.json)
            if any(report.failed(r) for r in records):
                failures += 1
                continue
            if not args.keep:
                blobs.delete(key)
                if not args.json:
                    print(f"  replayed; removed {letters.letter_id(key)}")
    finally:
        close()
    return 1 if failures else 0


def _publisher(broker: str, args: argparse.Namespace) -> tuple[Any, Any]:
    from healer_dev.broker import report

    if broker:
        import httpx

        client = httpx.Client(timeout=args.timeout)

        def post(event: Any) -> list[dict[str, Any]]:
            return _send_to_broker(client, broker, event)

        return post, client.close
    from healer.services import Services
    from healer.settings import Settings
    from healer_dev.broker.pipeline import in_process, offline_settings

    services = Services(offline_settings(Settings.load(), _root()))
    pipeline = in_process(services, backoff_scale=args.backoff_scale)

    def publish(event: Any) -> list[dict[str, Any]]:
        return [report.record(h) for h in pipeline.broker.publish(event)]

    return publish, pipeline.close


class InvalidArguments(HealerError):
    status = 400


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healer", description="Automated CI repair.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each stage's decisions")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("classify", help="classify CI logs (healer classify --help)", add_help=False)

    replay = sub.add_parser("replay", help="run recorded GitHub deliveries through the pipeline")
    replay.add_argument(
        "paths", nargs="+", metavar="PATH", help="delivery files or folders of them"
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per hop")
    replay.add_argument(
        "--show-prompt",
        action="store_true",
        help="print each rendered prompt whole (default: its first 25 lines)",
    )
    replay.add_argument(
        "--broker", metavar="URL", help="POST to this broker ingress instead of in-process"
    )
    replay.add_argument(
        "--backoff-scale",
        type=float,
        default=0.1,
        help="multiply the Broker's retry delays in-process (1 = real timing; default 0.1)",
    )
    replay.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per POST with --broker"
    )
    replay.add_argument(
        "--agent-outcome",
        choices=["succeeded", "failed"],
        help="in-process: after each started remediation, the agent's CodeRun ends so (and CI "
        "passes on its commit when it succeeded), looping through retries",
    )
    replay.set_defaults(run=cmd_replay)

    finish = sub.add_parser("finish", help="mark an outbox CodeRun finished (and CI's result)")
    finish.add_argument("name", metavar="CODERUN_NAME")
    finish.add_argument("--phase", required=True, choices=["Succeeded", "Failed"])
    finish.add_argument(
        "--summary",
        default="",
        help="the agent's message (status.message; the pushed commit's message when it succeeded)",
    )
    finish.add_argument(
        "--ci", choices=["success", "failure"], help="also CI's conclusion on the fix branch"
    )
    finish.add_argument("--outbox", help="the CodeRun outbox folder (default: coderun_outbox)")
    finish.add_argument(
        "--broker", metavar="URL", help="POST to this broker ingress (healer dev) instead"
    )
    finish.add_argument("--json", action="store_true", help="one JSON object per hop")
    finish.add_argument("--timeout", type=float, default=60.0)
    finish.add_argument("--backoff-scale", type=float, default=0.1)
    finish.set_defaults(run=cmd_finish)

    dev = sub.add_parser("dev", help="serve every function on localhost behind a local broker")
    dev.add_argument(
        "--port", type=int, default=8080, help="broker ingress port; stages use the next ones"
    )
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument(
        "--backoff-scale",
        type=float,
        default=1.0,
        help="multiply the Broker's retry delays (default 1)",
    )
    dev.set_defaults(run=cmd_dev)

    status = sub.add_parser(
        "status", help="tasks and dead letters, from the running healer dev or the stores"
    )
    status.add_argument("--json", action="store_true")
    status.add_argument(
        "--url",
        metavar="URL",
        help="a status function to ask (default: the running healer dev's, else the "
        "configured stores)",
    )
    status.add_argument("--timeout", type=float, default=10.0)
    status.set_defaults(run=cmd_status)

    letters = sub.add_parser(
        "deadletters", help="list, show, replay or clear dead-lettered events (blob store)"
    )
    letters.add_argument("action", choices=["list", "show", "replay", "clear"])
    letters.add_argument(
        "refs", nargs="*", metavar="ID", help="a letter (as listed) or an event id (its letters)"
    )
    letters.add_argument("--json", action="store_true")
    letters.add_argument("--limit", type=int, default=200, help="list: at most this many")
    letters.add_argument("--all", action="store_true", help="clear: every dead letter")
    letters.add_argument(
        "--broker",
        metavar="URL",
        help="replay: POST to this broker ingress (default: the running healer dev's, else "
        "an in-process pipeline on the configured stores)",
    )
    letters.add_argument(
        "--keep", action="store_true", help="replay: keep letters whose replay succeeded"
    )
    letters.add_argument("--timeout", type=float, default=60.0)
    letters.add_argument("--backoff-scale", type=float, default=0.1)
    letters.set_defaults(run=cmd_deadletters)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "classify":
        classify_cli = importlib.import_module("functions.classify.cli")
        return int(classify_cli.run(args_list[1:]))
    args = build_parser().parse_args(args_list)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args))
    except HealerError as exc:
        print(f"healer {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141

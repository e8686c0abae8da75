"""The ``ckpt`` command line: list, status, pull and verify checkpoints; serve the local Hub."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ckpt.errors import CheckpointNotFound, CkptError, RegistryError, RevisionNotFound

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

EPILOG = """\
exit status: 0 success; 1 a checkpoint is missing, modified, unsafe or could not be fetched;
2 bad input (unknown name or revision, malformed dvc.yaml or ckpts.dvc, bad option).

The registry is dvc.yaml's `artifacts:` section; the bytes are pinned by ckpts.dvc.
Set CKPT_REPO to use a checkout other than the one containing the current directory.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Our own messages at INFO; other libraries' (httpx logs every request at INFO) stay quiet.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("ckpt")
    log.addHandler(handler)
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    log.propagate = False
    if args.verbose:
        # Also DVC's and the remotes' debug lines (what `dvc -v` would print), and the original
        # error behind each of ours. Not botocore's: it logs every event hook, thousands of lines.
        log.setLevel(logging.DEBUG)
        for name in (
            "dvc",
            "dvc_data",
            "dvc_objects",
            "huggingface_hub",
            "s3fs",
            "httpx",
            "httpx2",
        ):
            other = logging.getLogger(name)
            other.addHandler(handler)
            other.setLevel(logging.DEBUG)
            other.propagate = False
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except CkptError as exc:
        if args.verbose:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        usage = (CheckpointNotFound, RegistryError, RevisionNotFound)
        return EXIT_USAGE if isinstance(exc, usage) else EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ckpt",
        description="Versioned, verified model checkpoints tracked by DVC.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="only print warnings and errors")
    noise.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print DVC's and the remotes' debug output, and the error behind each failure",
    )
    parser.add_argument(
        "--repo", type=Path, help="checkout to use (default: $CKPT_REPO, else the enclosing one)"
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser(
        "list",
        help="registry entries with path, size, state and description (never hashes)",
        description="List every checkpoint in dvc.yaml with its path, size, state and description. "
        "State is 'verified' (stamp matches), 'present' (not verified yet), 'missing', or "
        "'unknown' (manifest not in the local cache). Never reads file contents.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--rev", metavar="REV", help=_REV_HELP)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "status",
        help="check every checkpoint against DVC's md5 (hashes files not verified yet)",
        description="Compare each checkpoint with the md5 pinned in ckpts.dvc. Files verified "
        "before and unchanged since are not re-read. Exits 1 unless every checkpoint is verified.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "pull",
        help="fetch checkpoints (all by default) and verify them",
        description="Fetch the named checkpoints (default: all) through DVC from the first "
        "configured remote that has them, verify each against its md5 and stamp it. Present, "
        "verified files are not fetched again unless --force.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    p.add_argument("--force", action="store_true", help="re-fetch even if present and verified")
    p.add_argument("--rev", metavar="REV", help=_REV_HELP)
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser(
        "push",
        help="maintainers: send the checkpoints ckpts.dvc pins to a remote (dvc push, faster)",
        description="Send every object that ckpts.dvc pins (the .dir manifest and each file's "
        "bytes, from the local DVC cache) to the remote, leaving it as `dvc push` would. For an "
        "hf:// remote this runs without starting DVC: one existence query, large files upload "
        "as soon as they are hashed, and everything is committed in as few commits as the Hub "
        "allows, the manifest last (an interrupted push leaves the remote consistent; run it "
        "again to finish). Other remotes go through `dvc push -r NAME`. Pushes only ckpts/; "
        "`ckpt publish` also adds, checks credentials and mirrors.",
    )
    p.add_argument(
        "-r", "--remote", metavar="NAME", help="remote to push to (default: DVC's default remote)"
    )
    p.set_defaults(func=cmd_push)

    p = sub.add_parser(
        "log",
        help="one checkpoint's history: every commit that changed its bytes, newest first",
        description="List every commit (reachable from --rev, default HEAD) where the md5 that "
        "ckpts.dvc pins for NAME changed: date, commit, tags, md5, size, subject. Reads git "
        "history; fetches the small .dir manifests of past commits that the DVC cache lacks. "
        "Size is shown where the object is in the local DVC cache.",
    )
    p.add_argument("name", metavar="NAME", help="registry name")
    p.add_argument(
        "--rev", metavar="REV", default="HEAD", help="walk history from here (default: HEAD)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser(
        "verify",
        help="re-hash checkpoints in full and compare with DVC's md5",
        description="Re-read every byte of the named checkpoints (default: all present ones), in "
        "parallel, and compare with the md5 in ckpts.dvc; stamps are renewed or revoked. With "
        "--scan, also scan each pickle for globals that could run code when loaded. Exits 1 on "
        "any mismatch, missing file or unsafe pickle.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all)")
    p.add_argument("--scan", action="store_true", help="also scan pickles for unsafe globals")
    p.add_argument("--jobs", type=int, default=None, help="parallel hashes (default: CPU count)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "publish",
        help="maintainers: check, dvc add ckpts, push to every remote, mirror to the Hub",
        description="Publish the files under ckpts/. First, before any work: check a write-scoped "
        "token for each Hugging Face remote (and access for other remotes), and that every file "
        "under ckpts/ has a dvc.yaml entry and every entry a file. Then `dvc add ckpts`, `ckpt push` "
        "to each remote, and for each Hub remote one commit that places every checkpoint under its "
        "readable path with a model card (LFS deduplicates: no bytes are uploaded twice). Finally, "
        "print what to commit. Re-running uploads nothing.",
    )
    p.add_argument(
        "-r",
        "--remote",
        action="append",
        metavar="NAME",
        help="publish to this remote only (repeatable; default: every configured remote)",
    )
    layout = p.add_mutually_exclusive_group()
    layout.add_argument(
        "--mirror-prefix",
        metavar="PREFIX",
        help="put the readable copies under PREFIX/ in each Hub repo, e.g. v0.0.2 ('/' = the "
        "repo root). Default: the repo root, or no copies when checkpoints were adopted from "
        "that repo (`ckpt adopt`: its own layout stays the readable one)",
    )
    layout.add_argument(
        "--no-mirror",
        action="store_true",
        help="skip the mirror commit (no readable copies, README untouched)",
    )
    p.add_argument(
        "--version",
        metavar="VERSION",
        help="also commit ckpts.dvc and dvc.yaml and tag NAME@vVERSION (DVC's artifact tags, "
        "annotated) for each checkpoint whose bytes changed since its last version",
    )
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser(
        "adopt",
        help="maintainers: take over checkpoints already stored as plain files on a Hub repo",
        description="Map each dvc.yaml entry to a file in an existing Hub repo (PREFIX/<path "
        "under ckpts/>, or --map), check that every one exists, download each file once, check "
        "it against the Hub's LFS sha256, put it at its registry path, run `dvc add ckpts` and "
        "record where it came from (meta.origin in dvc.yaml). Any failure leaves the checkout "
        "as it was. A later `dvc push`/`ckpt publish` to the same repo uploads no bytes again. "
        "Endpoint and token: those of the DVC remote on that repo, else HF_ENDPOINT/HF_TOKEN.",
    )
    p.add_argument("url", metavar="hf://[datasets/]ORG/REPO[@REVISION]")
    p.add_argument(
        "--prefix",
        help="the folder in the repo that mirrors ckpts/, e.g. v0.0.1 (default: the repo root)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="NAME=PATH_IN_REPO",
        help="take this checkpoint from this file instead (repeatable)",
    )
    p.add_argument("--endpoint", help="Hub URL (default: the remote's endpoint, else HF_ENDPOINT)")
    p.set_defaults(func=cmd_adopt)
    return parser


_REV_HELP = (
    "as of this git revision (tag, branch, commit, or NAME@vX.Y.Z), read from git without a "
    "checkout; copies go under .dvc/tmp/ckpt/rev/, never into ckpts/"
)


def _rev_context(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ckpt.registry import find_repo_root
    from ckpt.revisions import read_revision

    root = args.repo.absolute() if args.repo else find_repo_root()
    revision = read_revision(root, args.rev)
    names = getattr(args, "names", None)
    artifacts = [revision.lookup(n) for n in names] if names else list(revision.registry.values())
    return root, revision, artifacts


def _context(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ckpt.registry import find_repo_root, load_registry, lookup

    root = args.repo.absolute() if args.repo else find_repo_root()
    registry = load_registry(root)
    names = getattr(args, "names", None)
    artifacts = [lookup(registry, n) for n in names] if names else list(registry.values())
    return root, artifacts


def cmd_list(args: argparse.Namespace) -> int:
    from ckpt.inventory import human_size, survey

    if args.rev is not None:
        return _list_at_rev(args)
    root, artifacts = _context(args)
    entries = survey(root, artifacts)
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
        return EXIT_OK
    _table(
        ["NAME", "PATH", "SIZE", "STATE", "DESCRIPTION"],
        [[e.name, e.path, human_size(e.size), e.state, e.desc] for e in entries],
    )
    return EXIT_OK


def _list_at_rev(args: argparse.Namespace) -> int:
    from ckpt.inventory import human_size
    from ckpt.versions import survey_at

    root, revision, artifacts = _rev_context(args)
    entries = survey_at(root, revision, artifacts)
    if args.json:
        print(
            json.dumps(
                {"rev": revision.rev, "commit": revision.commit, "checkpoints": entries}, indent=2
            )
        )
        return EXIT_OK
    print(f"# as of {revision.label}")
    _table(
        ["NAME", "PATH", "SIZE", "STATE", "DESCRIPTION"],
        [[e["name"], e["path"], human_size(e["size"]), e["state"], e["desc"]] for e in entries],
    )
    return EXIT_OK


def cmd_log(args: argparse.Namespace) -> int:
    from ckpt.history import history
    from ckpt.inventory import human_size
    from ckpt.registry import find_repo_root

    root = args.repo.absolute() if args.repo else find_repo_root()
    changes, warnings = history(root, args.name, args.rev)
    for warning in warnings:
        logging.getLogger("ckpt").warning("warning: %s", warning)
    if args.json:
        print(json.dumps([c.as_dict() for c in changes], indent=2))
        return EXIT_OK
    _table(
        ["DATE", "COMMIT", "TAGS", "MD5", "SIZE", "SUBJECT"],
        [
            [
                c.date[:16].replace("T", " "),
                c.commit[:10],
                ",".join(c.tags) or "-",
                c.md5 or f"({c.status})",
                human_size(c.size),
                c.subject,
            ]
            for c in changes
        ],
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from ckpt import dvcfiles
    from ckpt.inventory import VERIFIED, survey

    root, artifacts = _context(args)
    entries = survey(root, artifacts, rehash="unstamped")
    bad = [e for e in entries if e.state != VERIFIED]
    if args.json:
        print(
            json.dumps(
                {
                    "repo": str(root),
                    "dir_md5": dvcfiles.tracked_dir_md5(root),
                    "remotes": [r._asdict() for r in dvcfiles.remotes(root)],
                    "ok": not bad,
                    "checkpoints": [e.as_dict() for e in entries],
                },
                indent=2,
            )
        )
    else:
        _table(["NAME", "STATE", "PATH"], [[e.name, e.state, e.path] for e in entries])
        if bad:
            names = " ".join(e.name for e in bad)
            print(
                f"\n{len(bad)} checkpoint(s) not verified. Fetch or repair with: ckpt pull {names}"
            )
    return EXIT_FAILED if bad else EXIT_OK


def cmd_pull(args: argparse.Namespace) -> int:
    if args.rev is not None:
        from ckpt.versions import ensure as ensure_at

        root, revision, artifacts = _rev_context(args)
        at_rev = ensure_at(root, revision, artifacts, force=args.force)
        for a in artifacts:
            print(f"{a.name}\t{at_rev[a.name]}")
        return EXIT_OK
    from ckpt.loader import ensure

    root, artifacts = _context(args)
    paths = ensure(root, artifacts, force=args.force)
    for a in artifacts:
        print(f"{a.name}\t{paths[a.path]}")
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    from ckpt.push import push
    from ckpt.registry import find_repo_root

    pushed = push(args.repo.absolute() if args.repo else find_repo_root(), args.remote)
    if pushed.sent is None:
        return EXIT_OK  # DVC reported it
    where = f"'{pushed.remote}' ({pushed.url})"
    if pushed.sent:
        from ckpt.inventory import human_size

        print(
            f"Pushed {pushed.sent} object(s), {human_size(pushed.size)}, to {where}; "
            f"{pushed.present} were there already."
        )
    else:
        print(f"Everything is up to date on {where}: all {pushed.present} object(s) are there.")
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from ckpt.publish import publish

    root = args.repo.absolute() if args.repo else _context(args)[0]
    report = publish(
        root,
        args.remote,
        mirror=not args.no_mirror,
        mirror_prefix=args.mirror_prefix,
        version=args.version,
    )
    print(f"Pushed to: {', '.join(report.pushed)}")
    for remote, url in report.mirrored.items():
        prefix = report.mirror_prefixes.get(remote)
        where = "no readable copies" if prefix is None else f"readable copies under {prefix or '/'}"
        print(f"Mirrored on '{remote}' ({where}; README section updated): {url}")
    if report.unregistered:
        shown = report.unregistered[:10]
        more = len(report.unregistered) - len(shown)
        print(
            f"Left out {len(report.unregistered)} unregistered file(s) under ckpts/ (ignored by "
            ".dvcignore; add a dvc.yaml entry to publish one):\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    if args.version is not None:
        if report.committed:
            print(f"Committed the pins: {report.committed[:10]}")
        if report.tagged:
            print(f"Tagged: {' '.join(report.tagged)}")
        else:
            print("Tagged nothing: no checkpoint changed since its last version tag.")
        print("\nNow share the commit and its tags:\n  git push --follow-tags")
    elif report.to_commit:
        files = " ".join(report.to_commit)
        print(f"\nNow commit what pins these checkpoints:\n  git add {files}")
        print('  git commit -m "Publish checkpoints"')
    else:
        print("\nNothing to commit: ckpts.dvc and dvc.yaml already pin what was published.")
    return EXIT_OK


def cmd_adopt(args: argparse.Namespace) -> int:
    from ckpt.adopt import AdoptError, adopt

    root = args.repo.absolute() if args.repo else _context(args)[0]
    mapping = {}
    for item in args.map:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise AdoptError(f"--map '{item}': expected NAME=PATH_IN_REPO.")
        mapping[name] = path
    report = adopt(root, args.url, prefix=args.prefix, mapping=mapping, endpoint=args.endpoint)
    where = f"{report.source.url}@{report.commit[:12]}"
    nfiles = len(set(report.adopted.values()))
    print(
        f"Adopted {len(report.adopted)} checkpoint(s), {nfiles} file(s), from {where} "
        f"({report.downloaded:,} bytes downloaded"
        + (f", {len(report.reused)} already in place" if report.reused else "")
        + "):"
    )
    _table(["NAME", "FROM"], [[n, p] for n, p in report.adopted.items()])
    files = " ".join(report.to_commit)
    if files:
        print(f"\nNow commit what pins them:\n  git add {files}")
        print(f'  git commit -m "Adopt checkpoints from {where}"')
    if report.remote:
        print(
            f"\n`ckpt publish -r {report.remote}` (or `dvc push -r {report.remote}`) then stores "
            "DVC's copy in the same repo without uploading the bytes again."
        )
    else:
        print(
            "\nTo publish through DVC into the same repo (no bytes are uploaded again):\n"
            f"  dvc remote add -d hf {report.source.url}"
        )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from ckpt import dvcfiles, stamps
    from ckpt.inventory import MISSING, VERIFIED, survey
    from ckpt.locking import checkout_lock

    root, artifacts = _context(args)
    with checkout_lock(root):
        entries = survey(root, artifacts, rehash="all", jobs=args.jobs)
        dir_md5 = dvcfiles.tracked_dir_md5(root)
        stamps.update(
            root,
            {
                e.path: stamps.make(root / e.path, e.expected_md5, dir_md5)
                if e.state == VERIFIED and e.expected_md5
                else None
                for e in entries
                if e.state != MISSING
            },
        )
    failed = False
    for e in entries:
        if e.state == VERIFIED:
            print(f"ok        {e.name}  {e.path}  md5 {e.actual_md5}")
        elif e.state == MISSING:
            failed = True
            print(f"MISSING   {e.name}  {e.path}: not present; fetch it with `ckpt pull {e.name}`")
        else:
            failed = True
            print(
                f"{e.state.upper():<9} {e.name}  {e.path}: expected md5 {e.expected_md5}, got "
                f"{e.actual_md5}. The file was left in place; `ckpt pull --force {e.name}` "
                "replaces it with the published bytes."
            )
    if args.scan:
        failed |= _scan(root, [e for e in entries if e.state == VERIFIED])
    return EXIT_FAILED if failed else EXIT_OK


def _scan(root: Path, entries) -> bool:  # type: ignore[no-untyped-def]
    from ckpt.errors import UnsafeCheckpoint
    from ckpt.scan import scan_checkpoint

    failed = False
    for e in dict((e.path, e) for e in entries).values():
        try:
            scan_checkpoint(root / e.path)
        except UnsafeCheckpoint as exc:
            failed = True
            print(f"UNSAFE    {e.name}  {exc}")
        else:
            print(f"safe      {e.path}")
    return failed


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())


if __name__ == "__main__":
    sys.exit(main())

"""What one cold call knows about the checkout, read once under the checkout lock.

The ``.dir`` md5 that ``ckpts.dvc`` pins, the manifest (once it is in the cache), the cache
directory, the remotes and their options, the link types, and the config overrides handed to DVC:
everything downstream (fetch, placement, verification, stamps) takes them from here instead of
reading ``.dvc/config``, ``ckpts.dvc`` or the manifest again. The checkout lock keeps other ckpt
processes from changing them meanwhile; a ``dvc`` command run by hand at the same moment is not
ckpt's to order, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ckpt import dvcfiles
from ckpt.registry import Artifact

# Remote URL schemes whose filesystem checks each object's md5 against its name while it streams
# (dvc_hf.fs.HfFileSystem.get_file), so an object they brought into the cache needs no re-read.
VERIFYING_SCHEMES = ("hf://",)


@dataclass
class Snapshot:
    root: Path
    dir_md5: str
    cache: Path
    remotes: list[dvcfiles.Remote]
    remote_options: dict[str, dict[str, str]]
    links: list[str]
    shared_cache: bool  # DVC's `cache.shared`: cache folders group-writable
    dvc_config: dict
    manifest: dict[str, str] | None
    # (remote name, md5s asked of it) for each fetch attempt of this call, in order.
    fetches: list[tuple[str, set[str]]] = field(default_factory=list)

    def object_path(self, md5: str) -> Path:
        return dvcfiles.object_path(self.cache, md5)

    def expected(self, artifacts: Iterable[Artifact]) -> dict[str, str] | None:
        """Path -> md5 DVC recorded; None while the manifest is not in the cache."""
        return None if self.manifest is None else dvcfiles.select(self.manifest, artifacts)

    def objects(self, paths: Iterable[str]) -> list[Path]:
        """The cache objects the manifest names for ``paths`` (none while it is not in the cache)."""
        manifest = self.manifest or {}
        md5s = (manifest.get(dvcfiles.manifest_key(path)) for path in paths)
        return [self.object_path(md5) for md5 in md5s if md5]

    def reload_manifest(self) -> None:
        """After a fetch that may have brought the ``.dir`` into the cache."""
        if self.manifest is None:
            self.manifest = dvcfiles.read_manifest(self.cache, self.dir_md5)

    def remote_config(self, name: str) -> dict[str, str]:
        """A remote's options as DVC would use them: the config files', then our overrides."""
        overrides = self.dvc_config.get("remote", {}).get(name, {})
        return {**self.remote_options.get(name, {}), **overrides}

    def verified_in_transit(self) -> set[str]:
        """Objects this call fetched from a remote that checked their md5 as they streamed.

        An object that an earlier, non-verifying remote was also asked for may have come from
        there (a partial fetch before it failed), so it is not counted.
        """
        verifying = {r.name for r in self.remotes if r.url.startswith(VERIFYING_SCHEMES)}
        trusted: set[str] = set()
        for remote, md5s in self.fetches:
            if remote in verifying:
                trusted |= md5s
            else:
                trusted -= md5s
        return trusted


def take(root: Path) -> Snapshot:
    """Read everything a cold call needs; call it with the checkout lock held."""
    from ckpt import credentials, place

    config = dvcfiles.read_config(root)
    cache = dvcfiles.cache_dir(root, config)
    dir_md5 = dvcfiles.tracked_dir_md5(root)
    return Snapshot(
        root=root,
        dir_md5=dir_md5,
        cache=cache,
        remotes=dvcfiles.remotes(root, config),
        remote_options={
            section[len('remote "') : -1]: values
            for section, values in config.items()
            if section.startswith('remote "') and section.endswith('"')
        },
        links=place.link_types(config),
        shared_cache=bool(config.get("cache", {}).get("shared")),
        dvc_config=credentials.refuse_committed_secrets(root),
        manifest=dvcfiles.read_manifest(cache, dir_md5),
    )

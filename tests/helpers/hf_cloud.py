"""``HfCloud``: a Hub repository (or a path in it) as a ``dvc.testing`` Cloud, for DVC's suites.

Test setup writes through HfApi directly (one commit per write), never through the code under
test, so that the suites check the remote against an independent view of the repo.
"""

from __future__ import annotations

from dvc.testing.cloud import Cloud
from dvc.testing.path_info import CloudURLInfo
from huggingface_hub import HfApi
from huggingface_hub.errors import EntryNotFoundError


class HfCloud(Cloud, CloudURLInfo):
    """``hf://datasets/ORG/REPO/...`` on a local Hub (``url`` netloc = ``datasets``)."""

    IS_OBJECT_STORAGE = True

    def __init__(self, url: str, endpoint: str) -> None:
        super().__init__(url)
        self.endpoint = endpoint
        self.api = HfApi(endpoint=endpoint)

    def __truediv__(self, key):
        ret = super().__truediv__(key)
        ret.endpoint, ret.api = self.endpoint, self.api
        return ret

    @property
    def config(self) -> dict[str, str]:
        return {"url": self.url, "endpoint": self.endpoint}

    @property
    def fs_path(self) -> str:
        return f"{self.bucket}/{self.path}".rstrip("/")

    @property
    def repo_id(self) -> str:
        return "/".join(self.path.split("/")[:2])

    @property
    def in_repo(self) -> str:
        return "/".join(self.path.split("/")[2:])

    def _info(self):
        if not self.in_repo:
            return "directory"
        infos = self.api.get_paths_info(self.repo_id, [self.in_repo], repo_type="dataset")
        return type(infos[0]).__name__ if infos else None

    def is_file(self) -> bool:
        return self._info() == "RepoFile"

    def is_dir(self) -> bool:
        return self._info() in ("RepoFolder", "directory")

    def exists(self) -> bool:
        return self._info() is not None

    def mkdir(self, mode=0o777, parents=False, exist_ok=False) -> None:
        """The Hub has no empty folders: they appear with their first file."""

    def write_bytes(self, contents: bytes) -> None:
        self.api.upload_file(
            path_or_fileobj=contents,
            path_in_repo=self.in_repo,
            repo_id=self.repo_id,
            repo_type="dataset",
        )

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.api.delete_file(self.in_repo, self.repo_id, repo_type="dataset")
        except EntryNotFoundError:
            if not missing_ok:
                raise FileNotFoundError(str(self)) from None

    def rmdir(self, recursive: bool = True) -> None:
        if not self.is_dir():
            raise NotADirectoryError(str(self))
        self.api.delete_folder(self.in_repo, self.repo_id, repo_type="dataset")

    def read_bytes(self) -> bytes:
        from huggingface_hub.utils import get_session, hf_raise_for_status

        url = f"{self.endpoint}/datasets/{self.repo_id}/resolve/main/{self.in_repo}"
        response = get_session().get(url)
        if response.status_code == 404:
            raise FileNotFoundError(str(self))
        hf_raise_for_status(response)
        return response.content

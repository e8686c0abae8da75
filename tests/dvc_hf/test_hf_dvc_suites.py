"""DVC's own conformance suites (dvc.testing) for hf:// against the local Hub.

Run the way dvc-s3 runs them: subclass the suites, supply the fixtures (conftest.py). Suites that
do not apply to a remote of this kind are named here, skipped, with the reason.
"""

import pytest
from dvc.testing.api_tests import TestAPI  # noqa: F401
from dvc.testing.remote_tests import TestRemote  # noqa: F401
from dvc.testing.remote_tests import TestRemoteVersionAware as _TestRemoteVersionAware
from dvc.testing.remote_tests import TestRemoteWorktree as _TestRemoteWorktree
from dvc.testing.workspace_tests import TestGetUrl as _TestGetUrl
from dvc.testing.workspace_tests import TestImport as _TestImport
from dvc.testing.workspace_tests import TestImportURLVersionAware as _TestImportURLVersionAware
from dvc.testing.workspace_tests import TestLsUrl as _TestLsUrl
from dvc.testing.workspace_tests import TestToRemote as _TestToRemote

NOT_VERSION_AWARE = (
    "version_aware/worktree remotes store files under their own names with a per-object "
    "version id (S3/GCS/Azure object versions); a Hub repo versions by commit, and dvc-hf "
    "rejects version_aware and worktree"
)


class TestImport(_TestImport):
    @pytest.fixture
    def stage_md5(self):
        return None  # the exact .dvc text depends on the remote's checksum field; not checked

    @pytest.fixture
    def dir_md5(self):
        return None

    @pytest.fixture
    def is_object_storage(self):
        return True

    @pytest.mark.skip(reason="the Hub has no empty folders, nor files named 'dir/'")
    def test_import_empty_dir(self):
        pass


class TestLsUrl(_TestLsUrl):
    pass


class TestGetUrl(_TestGetUrl):
    pass


class TestToRemote(_TestToRemote):
    @pytest.fixture
    def workspace(self, make_workspace):
        # `dvc add/import-url --to-remote` from a local workspace straight to the hf:// remote.
        return make_workspace("workspace", typ="local")


@pytest.mark.skip(reason=NOT_VERSION_AWARE)
class TestRemoteVersionAware(_TestRemoteVersionAware):
    pass


@pytest.mark.skip(reason=NOT_VERSION_AWARE)
class TestRemoteWorktree(_TestRemoteWorktree):
    pass


@pytest.mark.skip(reason=NOT_VERSION_AWARE)
class TestImportURLVersionAware(_TestImportURLVersionAware):
    pass

"""PEP 517 build backend: whool, under the addon's technical name.

whool (OCA's build backend) names the addon after the directory that holds
__manifest__.py: it becomes ``odoo/addons/<name>`` in the wheel and the
``odoo-addon-<name>`` distribution. The repository root IS the addon, and a
clone may be called anything (CI clones into /tmp/ci123), so this backend
hands whool the checkout through a relative symbolic link called
omnichannel_inbox, kept in whool's own git-ignored ``build/`` directory.
Everything else (files under git control, metadata and dependencies from the
manifest, version from the manifest and git) is whool's.
"""

from pathlib import Path

from whool import buildapi

ADDON_NAME = "omnichannel_inbox"


def _addon_dir():
    root = Path.cwd()  # build frontends run the backend in the source tree
    if root.name == ADDON_NAME or (root / "PKG-INFO").is_file():
        # Already the right name, or an sdist (whose PKG-INFO names it).
        return root
    build = root / "build"
    link = build / "addon" / ADDON_NAME
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        build.joinpath(".gitignore").write_text("*")
        link.symlink_to(Path("..", ".."), target_is_directory=True)
    return link


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return buildapi._build_wheel(_addon_dir(), Path(wheel_directory), editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return buildapi._build_wheel(_addon_dir(), Path(wheel_directory), editable=True)


def build_sdist(sdist_directory, config_settings=None):
    return buildapi._build_sdist(_addon_dir(), Path(sdist_directory))


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    metadata = buildapi._get_metadata(_addon_dir())
    return buildapi._make_dist_info(metadata, Path(metadata_directory))


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel

################################################################################
#
# vigil
#
################################################################################

# The source is the git repository that holds this BR2_EXTERNAL tree, at
# its checked-out commit (override on the command line: VIGIL_VERSION=<tag
# or commit>, VIGIL_SITE=<another clone or URL>). Buildroot's git download
# makes a tarball of that commit, and its cargo post-process vendors every
# crate Cargo.lock names into the same tarball, each checked against the
# lock's checksum; the build then runs offline and --locked. A local
# (rsync) source would skip that vendoring step, and the offline build
# would find no crates. Uncommitted changes are not built.
VIGIL_VERSION = $(shell git -C $(BR2_EXTERNAL_VIGIL_PATH) rev-parse HEAD)
VIGIL_SITE = $(realpath $(BR2_EXTERNAL_VIGIL_PATH)/..)
VIGIL_SITE_METHOD = git
VIGIL_LICENSE = MIT or Apache-2.0

# Cargo.toml's release profile (opt-level 3, fat LTO, one codegen unit,
# measured in the lab) rather than Buildroot's generic one.
VIGIL_CARGO_ENV = \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
	CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1

$(eval $(cargo-package))

# vigil.hash holds the tarball hashes of released versions. Any other
# commit of this repository has none: it is checked by no hash file, not
# even under BR2_DOWNLOAD_FORCE_CHECK_HASHES, which stays on for every
# other download. What it holds is still authenticated: the source by its
# commit id, fetched from this very repository, and every crate by the
# checksum Cargo.lock gives it.
ifeq ($(shell grep -sF '  $(VIGIL_SOURCE)' $(VIGIL_PKGDIR)/vigil.hash),)
VIGIL_HASH_FILES =
endif

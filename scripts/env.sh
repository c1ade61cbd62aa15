# Sourced by scripts/headsweep and scripts/test: finds or installs libtorch,
# and exports what the build needs. Not meant to be run on its own.
#
# libtorch is PyTorch's own, from the Python package registry, in a virtual
# environment kept in a cache folder shared by every checkout:
#   ${HEADSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/headsweep}/torch-2.11.0
# Overrides:
#   LIBTORCH=DIR         a libtorch folder (include/ and lib/) to build against
#   HEADSWEEP_VENV=DIR   an existing Python environment that has torch 2.11.0

HEADSWEEP_TORCH_VERSION=2.11.0
HEADSWEEP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HEADSWEEP_CACHE=${HEADSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/headsweep}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HEADSWEEP_ROOT/target}

_hs_say() { printf 'headsweep: %s\n' "$*" >&2; }

_hs_has_torch() {
  "$1/bin/python" - "$HEADSWEEP_TORCH_VERSION" <<'PY' 2>/dev/null
import sys, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
PY
}

# Makes libtorch available for building, installing it on first use.
hs_setup_torch() {
  if [ -n "${LIBTORCH:-}" ]; then
    [ -d "$LIBTORCH/lib" ] || { _hs_say "LIBTORCH=$LIBTORCH has no lib/ folder"; return 1; }
    unset LIBTORCH_USE_PYTORCH
    return 0
  fi
  local venv
  if [ -n "${HEADSWEEP_VENV:-}" ]; then
    venv=$HEADSWEEP_VENV
    if ! _hs_has_torch "$venv"; then
      _hs_say "HEADSWEEP_VENV=$venv has no torch $HEADSWEEP_TORCH_VERSION (pip install torch==$HEADSWEEP_TORCH_VERSION there, or unset it)"
      return 1
    fi
  else
    venv=$HEADSWEEP_CACHE/torch-$HEADSWEEP_TORCH_VERSION
    if ! _hs_has_torch "$venv"; then
      mkdir -p "$HEADSWEEP_CACHE"
      (
        # One installer at a time; a second waits and then finds it done.
        flock 9
        if ! _hs_has_torch "$venv"; then
          _hs_say "installing PyTorch $HEADSWEEP_TORCH_VERSION (libtorch, with its CUDA libraries) into $venv"
          _hs_say "  once per machine: about 5 GB of disk, a few minutes; LIBTORCH=DIR or HEADSWEEP_VENV=DIR use an existing one"
          rm -rf "$venv"
          python3 -m venv "$venv" &&
            "$venv/bin/pip" install --disable-pip-version-check --progress-bar on \
              "torch==$HEADSWEEP_TORCH_VERSION" >&2 ||
            { rm -rf "$venv"; exit 1; }
          _hs_say "PyTorch installed: $(du -sh "$venv" 2>/dev/null | cut -f1) in $venv"
        fi
      ) 9>"$HEADSWEEP_CACHE/.install.lock" || { _hs_say "could not install PyTorch"; return 1; }
    fi
  fi
  export PATH="$venv/bin:$PATH"
  export LIBTORCH_USE_PYTORCH=1
}

# Builds the release binary (a no-op when nothing changed).
hs_build() {
  (cd "$HEADSWEEP_ROOT" && cargo build --release --quiet --bin headsweep --bin headsweep-train)
}

# cargo-machete (unused dependencies), installed once per machine into the
# cache beside libtorch; prints the path of the executable.
HEADSWEEP_MACHETE_VERSION=0.9.2
hs_machete() {
  local root=$HEADSWEEP_CACHE/tools/cargo-machete-$HEADSWEEP_MACHETE_VERSION
  if [ ! -x "$root/bin/cargo-machete" ]; then
    _hs_say "installing cargo-machete $HEADSWEEP_MACHETE_VERSION into $root (once)"
    # Its own target folder, so that the project's build is not disturbed.
    CARGO_TARGET_DIR="$root/build" cargo install --quiet --locked \
      --version "$HEADSWEEP_MACHETE_VERSION" --root "$root" cargo-machete >&2 &&
      rm -rf "$root/build" || return 1
  fi
  echo "$root/bin/cargo-machete"
}

# Fails when a crate declares a dependency it does not use.
hs_unused_deps() {
  local machete
  machete=$(hs_machete) || return 1
  (cd "$HEADSWEEP_ROOT" && "$machete")
}

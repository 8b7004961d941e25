# Sourced by .ci/run. Installs an official Node.js build from the npm registry (the node-linux-<arch>
# packages carry the same binaries as nodejs.org) into a cache, so CI can test the Node lines
# package.json claims even where the machine's own Node is older. npm verifies the tarball's
# integrity against the registry.

# The lines we test: the suite runs on the current LTS line; the compiled daemon's smoke run also
# runs on the oldest line `engines` claims. Bump these with package.json's engines and .nvmrc.
NODE_CURRENT_LTS=26.12.1
NODE_OLDEST=22.23.5

# Prints the bin directory of Node $1, installing it first if the cache lacks it.
node_bin_dir() {
  local version=$1 arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "no Node build for $(uname -m)" >&2; return 1 ;;
  esac
  local cache="${OVERSEER_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/overseer/node}"
  local dir="$cache/$version-linux-$arch"
  if [ ! -x "$dir/bin/node" ]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "node-linux-$arch@$version" --silent >/dev/null) || { rm -rf "$tmp"; return 1; }
    mkdir -p "$dir.partial"
    tar xzf "$tmp"/node-linux-"$arch"-"$version".tgz -C "$dir.partial" --strip-components=1 \
      package/bin/node package/include
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir/bin"
}

#pragma once
// The build's version and the commit it was built from ("-dirty" when the tree had changes),
// shown by `vkgraph --version`, `devices` and in benchmark rows.

namespace vkgraph {

const char* version();
const char* git_commit();

}  // namespace vkgraph

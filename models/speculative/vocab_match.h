#pragma once
// A draft model must speak the target's vocabulary: the same ids for the same tokens, so that a
// drafted id means to the target what it meant to the draft.

#include "models/model.h"

namespace vkgraph::models {

// Throws an Error naming both files and the first difference (the vocabulary's size or kind, a
// token's text or type at an id, or a special token) when the two vocabularies differ.
void check_same_vocabulary(const Model& target, const Model& draft);

}  // namespace vkgraph::models

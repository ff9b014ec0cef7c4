#pragma once
// Jinja2's filters, tests and global functions, as a chat template sees them under Hugging Face's
// set-up: `tojson` is json.dumps (no HTML escaping; ensure_ascii, indent, separators, sort_keys),
// and the globals include raise_exception() and strftime_now(). Methods of str, dict and list
// are in methods.h.
//
// Every name Jinja2 defines is known to the parser (an unknown one is a syntax error, as in
// Jinja2); the few that make no sense without HTML or randomness (escape, forceescape, urlize,
// striptags, xmlattr, urlencode, filesizeformat, pprint, random, wordwrap) fail when they run.

#include <initializer_list>
#include <string_view>
#include <vector>

#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

struct Filter {
  std::string_view name;
  Value (*apply)(Evaluator& ev, const Value& subject, CallArgs& args);
};

struct Test {
  std::string_view name;
  bool (*check)(Evaluator& ev, const Value& subject, CallArgs& args);
};

const Filter* find_filter(std::string_view name);  // nullptr when Jinja2 has no such filter
const Test* find_test(std::string_view name);

// range, dict, namespace, joiner, cycler, raise_exception, strftime_now.
Dict global_functions();

// Reads the arguments of a builtin as Python binds them: positional first, then by keyword;
// too many, unknown or repeated arguments are errors naming the function.
class ArgReader {
 public:
  ArgReader(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> names);
  const Value* get(size_t index) const;  // nullptr when not given
  Value get_or(size_t index, Value fallback) const;

 private:
  std::vector<const Value*> bound_;
};

// Items of a value for filters that iterate (map, select, join...): iterate() with the same
// errors, as a list.
ValueList filter_items(const Value& v);
// Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0 (item, then attribute).
Value lookup_path(const Value& item, const Value& attribute);

}  // namespace vkgraph::jinja

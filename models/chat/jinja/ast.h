#pragma once
// The parsed template: expressions and statements, each with the line and column it starts at
// (runtime errors name them). Nodes are plain structs that the evaluator switches on; a node uses
// the fields its type lists.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/chat/jinja/operations.h"
#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Filter;  // builtins.h
struct Test;

struct Arguments {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  ExprPtr star_args;    // *args
  ExprPtr star_kwargs;  // **kwargs
};

enum class ExprType {
  Literal,      // value
  Name,         // name
  List,         // items
  Tuple,        // items
  Dict,         // items: key, value, key, value...
  GetAttr,      // a.name
  GetItem,      // a[b]; b may be a Slice
  Slice,        // a:b:c, each may be null
  Call,         // a(args)
  Filter,       // a | name(args); a null: the body of a filter block or set block
  Test,         // a is name(args)
  Not,          // not a
  Negate,       // -a
  Plus,         // +a
  Binary,       // a op b
  And,          // a and b
  Or,           // a or b
  Concat,       // items joined with ~
  Compare,      // a then (comparison, operand)...
  Conditional,  // a if b else c (c may be null)
};

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct Expr {
  ExprType type;
  int line = 0, column = 0;
  int height = 1;  // of the tree below and including this node (the parser bounds it)
  Value value;
  std::string name;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  BinaryOp op = BinaryOp::Add;
  std::vector<std::pair<CompareOp, ExprPtr>> comparisons;
  Arguments args;
  const Filter* filter = nullptr;  // Filter: resolved by name; null when no such filter exists
  const Test* test = nullptr;      // Test: likewise
};

// An assignment target: a name, ns.attribute, or a tuple of targets.
struct Target {
  enum class Kind { Name, NamespaceAttribute, Tuple } kind = Kind::Name;
  std::string name;
  std::string attribute;
  std::vector<Target> items;
};

struct MacroSignature {
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
};

enum class StmtType {
  Text,         // text
  Output,       // {{ expr }}
  If,           // branches (test, body)..., else_body
  For,          // for target in expr [if condition] body [else else_body]
  Set,          // set target = expr
  SetBlock,     // set target [| filters in expr] body endset
  Macro,        // macro name(signature) body
  CallBlock,    // call[(signature)] expr body: expr's macro gets `caller`
  FilterBlock,  // filter expr body: expr is a filter chain over the body
  With,         // with assignments body
  Break,
  Continue,
};

struct Stmt {
  StmtType type;
  int line = 0, column = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::string name;
  MacroSignature signature;
  std::vector<std::pair<Target, ExprPtr>> assignments;
  bool recursive = false;
};

}  // namespace vkgraph::jinja

#!/usr/bin/python3
"""Renders chat templates with Debian's python3-jinja2, set up as Hugging Face's tokenizers set it
up (transformers' chat template compiler): ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loop controls extension and the `{% generation %}` tag, `tojson` replaced by
json.dumps (no HTML escaping, keyword options), `raise_exception` and `strftime_now` as globals.
Each case renders one template with the variables the job gives (the caller composes what
`apply_chat_template` passes: messages, tools=None, documents=None, add_generation_prompt, the
special tokens, extra variables). The clock of `strftime_now` is fixed by the job so that both
renderers see the same date.

    jinja_reference.py JOB.json OUT.json

JOB.json: {"now": "YYYY-MM-DDTHH:MM:SS", "templates": [source, ...],
           "cases": [{"template": index, "variables": {...}}, ...]}
OUT.json: {"jinja2": VERSION, "results": [{"text": ...} or {"error": ...}, one per case]}
"""

import datetime
import json
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}` renders its body, as Hugging Face's
    AssistantTracker does when it is not tracking."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    job_path, out_path = sys.argv[1], sys.argv[2]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    env = make_environment(datetime.datetime.fromisoformat(job["now"]))
    compiled = []
    for source in job["templates"]:
        try:
            compiled.append(env.from_string(source))
        except Exception as e:  # a template jinja2 cannot compile fails every case
            compiled.append(e)
    results = []
    for case in job["cases"]:
        template = compiled[case["template"]]
        if isinstance(template, Exception):
            results.append({"error": f"{type(template).__name__}: {template}"})
            continue
        try:
            results.append({"text": template.render(**case["variables"])})
        except Exception as e:
            results.append({"error": f"{type(e).__name__}: {e}"})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "results": results}, f, ensure_ascii=False)


if __name__ == "__main__":
    main()

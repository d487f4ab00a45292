import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from agents.evaluation import DatasetError, evaluate, load_cases, report
from conversations.models import Inbox

# (option, report key, "min" or "max", label)
BARS = [
    ("min_outcome_accuracy", "outcome_accuracy", "min", "outcome accuracy"),
    ("min_intent_accuracy", "intent_accuracy", "min", "intent accuracy"),
    ("min_handover_precision", "handover_precision", "min", "handover precision"),
    ("min_handover_recall", "handover_recall", "min", "handover recall"),
    ("min_auto_resolution", "auto_resolution_rate", "min", "auto-resolution rate"),
    ("min_answer_accuracy", "answer_accuracy", "min", "answer accuracy"),
    ("min_source_accuracy", "source_accuracy", "min", "source accuracy"),
    ("min_tool_accuracy", "tool_accuracy", "min", "tool accuracy"),
    ("max_p95_ms", ("latency_ms", "p95"), "max", "p95 turn latency (ms)"),
]


class Command(BaseCommand):
    help = (
        "Run a JSONL dataset of customer messages through the real AI pipeline, each on a fresh "
        "conversation of an inbox, and report outcome, intent, answer, source, tool and language "
        "accuracy, handover precision/recall, auto-resolution, latency and cost. Exits non-zero when "
        "a --min/--max bar is missed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="JSONL file of cases.")
        parser.add_argument("--inbox", default="Demo shop", help='Inbox whose AI agent answers (default "Demo shop").')
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the report as JSON.")
        parser.add_argument("--keep", action="store_true", help="Keep the evaluation conversations afterwards.")
        for option, _, kind, label in BARS:
            parser.add_argument(
                f"--{option.replace('_', '-')}",
                type=float,
                help=f"Fail if the {label} is {'below' if kind == 'min' else 'above'} this.",
            )

    def handle(self, *args, dataset, inbox, as_json=False, keep=False, **options):
        try:
            cases = load_cases(dataset)
        except DatasetError as error:
            raise CommandError(f"Dataset {dataset}: {error}") from error
        target = Inbox.objects.select_related("ai_agent").filter(name=inbox).first()
        if target is None:
            raise CommandError(f'No inbox named "{inbox}". Run `python manage.py seed_demo` or pass --inbox.')
        if target.ai_agent is None:
            raise CommandError(f'Inbox "{inbox}" has no AI agent to evaluate; pick one in the admin.')
        progress = None if as_json else self._progress(len(cases))
        summary = report(evaluate(cases, target, on_result=progress, keep=keep))
        self.stdout.write(
            json.dumps(summary, indent=2, cls=DjangoJSONEncoder) if as_json else self._as_text(summary, target)
        )
        missed = self._missed_bars(summary, options)
        if missed:
            raise CommandError("Below the bar: " + "; ".join(missed))

    def _progress(self, total: int):
        done = [0]

        def show(result):
            done[0] += 1
            mark = "MISS" if result.failures else "ok  "
            self.stderr.write(f"[{done[0]}/{total}] {mark} {result.outcome:<8} {result.message[:70]}")

        return show

    def _as_text(self, summary: dict, inbox: Inbox) -> str:
        def pct(value):
            return "n/a" if value is None else f"{value:.1%}"

        cost = summary["cost_usd"]
        lines = [
            f"Evaluated {summary['cases']} cases on inbox {inbox.name!r} (AI agent {inbox.ai_agent.name!r}):",
            f"  outcome accuracy     {pct(summary['outcome_accuracy'])}",
            f"  intent accuracy      {pct(summary['intent_accuracy'])}",
            f"  handover precision   {pct(summary['handover_precision'])}",
            f"  handover recall      {pct(summary['handover_recall'])}",
            f"  auto-resolution      {pct(summary['auto_resolution_rate'])}",
            f"  answer accuracy      {pct(summary['answer_accuracy'])}",
            f"  source accuracy      {pct(summary['source_accuracy'])}",
            f"  tool accuracy        {pct(summary['tool_accuracy'])}",
            f"  language accuracy    {pct(summary['language_accuracy'])}",
            f"  turn latency         p50 {summary['latency_ms']['p50']} ms, p95 {summary['latency_ms']['p95']} ms",
            f"  cost                 ${cost['total']} total, ${cost['per_turn']} per turn",
        ]
        for m in summary["mistakes"]:
            lines.append(
                f"  line {m['line']}: expected {m['expected_outcome']}/{m['expected_intent'] or '-'}, "
                f"got {m['outcome']}/{m['intent'] or '-'} ({m['reason'] or 'answered'}): {m['message'][:80]}"
            )
            lines.extend(f"      {failure}" for failure in m["failures"])
            if m["reply"]:
                lines.append(f"      reply: {m['reply'][:200]}")
        return "\n".join(lines)

    def _missed_bars(self, summary: dict, options: dict) -> list[str]:
        missed = []
        for option, key, kind, label in BARS:
            bar = options.get(option)
            if bar is None:
                continue
            value = summary[key[0]][key[1]] if isinstance(key, tuple) else summary[key]
            if value is None:
                missed.append(f"{label} cannot be measured on this dataset")
            elif (value < bar) if kind == "min" else (value > bar):
                missed.append(f"{label} {value:g} {'<' if kind == 'min' else '>'} {bar:g}")
        return missed

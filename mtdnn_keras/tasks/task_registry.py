"""Finds task definitions: the built-in ones and those in users' YAML files."""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from pathlib import Path
from typing import Any

import yaml

from mtdnn_keras.tasks.task_definition import TaskDefinition, TaskDefinitionError

BUILTIN_TASKS_FILE = "builtin_tasks.yaml"
MAX_DEPTH = 50  # mappings and lists inside each other; a task file needs 4
MAX_EXPANSION = 1_000_000  # nodes plus characters that aliases (*name) may add to a file
STR_TAG = "tag:yaml.org,2002:str"
_TAG_NAMES = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:merge": "a merge key",
}


class TaskRegistry:
    """Task definitions by name, and named groups of tasks (`glue`).

    The built-in tasks are read from the package's `builtin_tasks.yaml` with the same loader
    that reads users' files, so a user's file has exactly the built-in format.

    Args:
        tasks: dict of name to `TaskDefinition`.
        groups: dict of group name to a list of task names.

    Examples:
    ```python
    registry = TaskRegistry.builtin().with_file("my_tasks.yaml")
    tasks = registry.resolve("glue")          # the 9 GLUE tasks
    tasks = registry.resolve("rte,mrpc,my_task")
    ```
    """

    def __init__(self, tasks: dict[str, TaskDefinition], groups: dict[str, list[str]]):
        self.tasks = dict(tasks)
        self.groups = dict(groups)

    @classmethod
    def builtin(cls) -> TaskRegistry:
        source = importlib.resources.files("mtdnn_keras.tasks") / BUILTIN_TASKS_FILE
        return cls({}, {}).with_text(
            source.read_text(encoding="utf-8"), f"<builtin>/{BUILTIN_TASKS_FILE}"
        )

    def with_file(self, path: str | Path) -> TaskRegistry:
        """A registry with the tasks and groups of a user's YAML file added (or replaced)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TaskDefinitionError(f"{path}: cannot read task file: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise TaskDefinitionError(f"{path}: not UTF-8 text ({error.reason})") from None
        return self.with_text(text, str(path))

    def with_text(self, text: str, source: str) -> TaskRegistry:
        tasks, groups = _parse_task_file(text, source)
        merged_groups = {**self.groups, **groups}
        merged_tasks = {**self.tasks, **tasks}
        for group, names in merged_groups.items():
            for name in names:
                if name not in merged_tasks:
                    raise TaskDefinitionError(
                        f"{source}: group '{group}' names unknown task '{name}'"
                    )
        return TaskRegistry(merged_tasks, merged_groups)

    def resolve(self, spec: str | list[str]) -> list[TaskDefinition]:
        """Tasks named by a comma-separated list of task and group names, in order, once each."""
        names = spec.split(",") if isinstance(spec, str) else list(spec)
        resolved: dict[str, TaskDefinition] = {}
        for raw in names:
            name = raw.strip()
            if not name:
                continue
            if name in self.groups:
                for member in self.groups[name]:
                    resolved.setdefault(member, self.tasks[member])
            elif name in self.tasks:
                resolved.setdefault(name, self.tasks[name])
            else:
                known = ", ".join(sorted(self.tasks) + sorted(self.groups))
                raise TaskDefinitionError(f"unknown task or group '{raw.strip()}'; known: {known}")
        if not resolved:
            raise TaskDefinitionError(f"no tasks named in {spec!r}")
        return list(resolved.values())


@functools.cache
def _builtin_tasks() -> dict[str, TaskDefinition]:
    return TaskRegistry.builtin().tasks


def saved_task(data: dict[str, Any], source: str = "<saved model>") -> TaskDefinition:
    """A task definition as a saved model holds it (`TaskDefinition.to_dict` with its
    `name`), read back. A built-in task saved before tasks had TFDS sources gains its
    built-in's, so that the model reads the same data from TFDS as a new one: as it is where
    the labels are the same, and with its labels mapped to the values the model was trained
    on where the model predates labels by meaning (CoLA's `"0"`/`"1"`)."""
    task = TaskDefinition.from_dict(
        data["name"], {k: v for k, v in data.items() if k != "name"}, source
    )
    builtin = _builtin_tasks().get(task.name)
    if (
        task.tfds is not None
        or builtin is None
        or builtin.tfds is None
        or builtin.kind is not task.kind
    ):
        return task
    if task.labels == builtin.labels:
        return dataclasses.replace(task, tfds=builtin.tfds)
    if task.labels == tuple(builtin.file_label(label) for label in builtin.labels):
        dataset_name = {label: name for name, label in builtin.tfds.label_map.items()}
        label_map = {
            dataset_name.get(label, label): builtin.file_label(label) for label in builtin.labels
        }
        return dataclasses.replace(
            task, tfds=dataclasses.replace(builtin.tfds, label_map=label_map)
        )
    return task


def _parse_task_file(
    text: str, source: str
) -> tuple[dict[str, TaskDefinition], dict[str, list[str]]]:
    try:
        _check_depth(text, source)
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise TaskDefinitionError(
            f"{where}: not valid YAML: {getattr(error, 'problem', error)}"
        ) from None
    except RecursionError:  # _check_depth keeps nesting far below this
        raise TaskDefinitionError(f"{source}: nested too deeply to read") from None
    if root is None:
        raise TaskDefinitionError(f"{source}: the file is empty; expected a 'tasks:' mapping")
    if not isinstance(root, yaml.MappingNode):
        raise TaskDefinitionError(
            f"{source}, line {root.start_mark.line + 1}: expected a mapping with 'tasks:'"
        )
    _check_nodes(root, source, len(text))
    top = {key.value: value for key, value in root.value}
    unknown = set(top) - {"tasks", "groups"}
    if unknown:
        raise TaskDefinitionError(
            f"{source}: unknown top-level keys {sorted(unknown)}; expected 'tasks' and 'groups'"
        )
    tasks: dict[str, TaskDefinition] = {}
    tasks_node = top.get("tasks")
    if tasks_node is not None:
        if not isinstance(tasks_node, yaml.MappingNode):
            raise TaskDefinitionError(
                f"{source}, line {tasks_node.start_mark.line + 1}: 'tasks' must map names to definitions"
            )
        for key_node, value_node in tasks_node.value:
            name = _name(key_node, source, "task")
            if name in tasks:
                raise TaskDefinitionError(
                    f"{source}, line {key_node.start_mark.line + 1}: task '{name}' defined twice"
                )
            lines: dict[Any, int] = {None: key_node.start_mark.line + 1}
            if isinstance(value_node, yaml.MappingNode):
                for field_key, field_value in value_node.value:
                    lines[field_key.value] = field_key.start_mark.line + 1
                    if isinstance(field_value, yaml.MappingNode):
                        for sub_key, _ in field_value.value:
                            lines[f"{field_key.value}.{sub_key.value}"] = (
                                sub_key.start_mark.line + 1
                            )
            data = _construct(value_node, source)
            tasks[name] = TaskDefinition.from_dict(name, data, source, lines)
    groups: dict[str, list[str]] = {}
    groups_node = top.get("groups")
    if groups_node is not None:
        if not isinstance(groups_node, yaml.MappingNode):
            raise TaskDefinitionError(
                f"{source}, line {groups_node.start_mark.line + 1}: 'groups' must map names to lists of task names"
            )
        for key_node, value_node in groups_node.value:
            name = _name(key_node, source, "group")
            if not isinstance(value_node, yaml.SequenceNode):
                raise TaskDefinitionError(
                    f"{source}, line {value_node.start_mark.line + 1}: group '{name}': "
                    f"expected a list of task names, got {_describe(value_node)}"
                )
            for member in value_node.value:
                if not isinstance(member, yaml.ScalarNode) or member.tag != STR_TAG:
                    raise TaskDefinitionError(
                        f"{source}, line {member.start_mark.line + 1}: group '{name}': "
                        f"expected a task name, got {_describe(member)}"
                    )
            groups[name] = [member.value for member in value_node.value]
    return tasks, groups


def _describe(node) -> str:
    """A node as a message quotes it: short."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = node.value if len(node.value) <= 40 else node.value[:40] + "..."
    kind = _TAG_NAMES.get(node.tag)
    return f"{value!r}" + (f" (read as {kind})" if kind else "")


def _name(node, source: str, kind: str) -> str:
    """A task's or group's name: YAML text (`1`, `null`, `yes` or a date read otherwise)."""
    if node.tag != STR_TAG:
        raise TaskDefinitionError(
            f"{source}, line {node.start_mark.line + 1}: a {kind} name is text, got "
            f"{_describe(node)}; quote it if it is meant as a name"
        )
    return node.value


def _check_depth(text: str, source: str) -> None:
    """Refuses nesting deeper than MAX_DEPTH before the (recursive) composer sees it."""
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise TaskDefinitionError(
                    f"{source}, line {event.start_mark.line + 1}: nested more than {MAX_DEPTH} "
                    "levels deep; a task file's mappings and lists go a few levels deep"
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_nodes(root, source: str, length: int) -> None:
    """Every mapping key is a scalar, once per mapping; every scalar of a non-text type can
    be built; aliases neither refer to themselves nor expand the file by more than
    MAX_EXPANSION (a "billion laughs" file). One walk, without recursion."""
    limit = MAX_EXPANSION + 2 * length  # a file without aliases weighs at most 2 * length
    loader = yaml.SafeLoader("")
    weight: dict[int, int] = {}  # id(node) -> nodes plus characters, aliases expanded
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            if id(node) not in weight:
                weight[id(node)] = 1 + len(node.value)
                if node.tag not in (STR_TAG, "tag:yaml.org,2002:merge"):
                    _construct_scalar(loader, node, source)
            continue
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if finished:
            open_nodes.discard(id(node))
            weight[id(node)] = 1 + sum(weight[id(child)] for child in children)
            if weight[id(node)] > limit:
                raise TaskDefinitionError(
                    f"{source}, line {line}: YAML aliases (*name) here expand to more than "
                    f"{limit:,} nodes and characters; write the values out instead"
                )
            continue
        if id(node) in open_nodes:
            raise TaskDefinitionError(
                f"{source}, line {line}: an alias (*name) refers to the value that contains "
                "it, so the value would contain itself"
            )
        if id(node) in weight:
            continue  # an alias of a value already checked
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple, int] = {}
            for key, _ in node.value:
                key_line = key.start_mark.line + 1
                if not isinstance(key, yaml.ScalarNode):
                    raise TaskDefinitionError(
                        f"{source}, line {key_line}: a key is a name, not {_describe(key)}"
                    )
                if key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        raise TaskDefinitionError(
                            f"{source}, line {key_line}: {key.value!r} appears twice in one "
                            f"mapping (first on line {seen[(key.tag, key.value)]})"
                        )
                    seen[(key.tag, key.value)] = key_line
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))


def _construct_scalar(loader, node, source: str) -> None:
    """Builds one scalar as `yaml.safe_load` would, naming its line if it cannot."""
    try:
        loader.construct_object(node)
    except yaml.YAMLError as error:
        raise TaskDefinitionError(
            f"{source}, line {node.start_mark.line + 1}: not valid YAML: "
            f"{getattr(error, 'problem', None) or error}"
        ) from None
    except (ValueError, TypeError, OverflowError) as error:  # int('9' * 5000), 2001-13-45
        raise TaskDefinitionError(
            f"{source}, line {node.start_mark.line + 1}: cannot read the value "
            f"{_describe(node)}: {str(error).split(';')[0]}"
        ) from None


def _construct(node, source: str):
    """The Python value of a composed YAML node (as `yaml.safe_load` would give it)."""
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or node.start_mark
        raise TaskDefinitionError(
            f"{source}, line {mark.line + 1}: not valid YAML: "
            f"{getattr(error, 'problem', None) or error}"
        ) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        raise TaskDefinitionError(
            f"{source}, line {node.start_mark.line + 1}: cannot read a value: {error}"
        ) from None

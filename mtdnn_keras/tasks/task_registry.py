"""Finds task definitions: the built-in ones and those in users' YAML files."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import yaml

from mtdnn_keras.tasks.task_definition import TaskDefinition, TaskDefinitionError

BUILTIN_TASKS_FILE = "builtin_tasks.yaml"


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


def _parse_task_file(
    text: str, source: str
) -> tuple[dict[str, TaskDefinition], dict[str, list[str]]]:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise TaskDefinitionError(
            f"{where}: not valid YAML: {getattr(error, 'problem', error)}"
        ) from None
    if root is None:
        raise TaskDefinitionError(f"{source}: the file is empty; expected a 'tasks:' mapping")
    if not isinstance(root, yaml.MappingNode):
        raise TaskDefinitionError(
            f"{source}, line {root.start_mark.line + 1}: expected a mapping with 'tasks:'"
        )
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
            name = key_node.value
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
        data = _construct(groups_node, source)
        if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v) for v in data.values()
        ):
            raise TaskDefinitionError(
                f"{source}, line {groups_node.start_mark.line + 1}: 'groups' must map names to lists of task names"
            )
        groups = {str(k): list(v) for k, v in data.items()}
    return tasks, groups


def _construct(node, source: str):
    """The Python value of a composed YAML node (as `yaml.safe_load` would give it)."""
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as error:
        raise TaskDefinitionError(
            f"{source}, line {node.start_mark.line + 1}: not valid YAML: {error}"
        ) from None

"""File mode: FEBRL de-duplication with guessed columns, and the `crmlens dedup` command as users run it."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from crmlens.identity import dedup_frame, read_table


def _pairs(labels: pd.Series) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for _, group in pd.Series(range(len(labels))).groupby(labels.to_numpy()):
        out.update(itertools.combinations(group.tolist(), 2))
    return out


def test_febrl_dataset1_with_guessed_columns(shared_data: Path) -> None:
    frame = read_table(shared_data / "febrl" / "dataset1.csv")
    out, summary = dedup_frame(frame, "rec_id", seed=0)
    assert summary["roles"]["date_of_birth"] == "birth_date" and summary["roles"]["suburb"] == "city"
    truth = _pairs(frame["rec_id"].str.extract(r"rec-(\d+)")[0])
    found = _pairs(out["resolved_id"])
    precision = len(truth & found) / len(found)
    recall = len(truth & found) / len(truth)
    assert precision >= 0.98 and recall >= 0.97, (precision, recall)
    assert list(out.columns) == ["rec_id", "resolved_id", "match_probability", "match_rule", "cluster_size"]
    assert (out["rec_id"] == frame["rec_id"]).all()
    assert set(out["match_rule"]) <= {"same_id", "splink", "unique"}


def _crmlens(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crmlens", *args], cwd=cwd, capture_output=True, text=True)


def test_dedup_command_links_chinese_and_pinyin_names(tmp_path: Path) -> None:
    rows = [
        ("1", "张伟", "1985-03-02", "zhang.wei@qq.com", "上海"),
        ("2", "Wei Zhang", "1985-03-02", "", "Shanghai"),
        ("3", "李娜", "1990-07-15", "lina90@163.com", "北京"),
        ("4", "Li Na", "", "LiNa90@163.com", "北京"),
        ("5", "王芳", "1979-11-30", "wf@126.com", "广州"),
    ]
    # background people so that u and m have something to learn from
    names = ["陈静", "刘洋", "杨敏", "赵磊", "黄丽", "周杰", "吴霞", "徐涛", "孙颖", "马超"]
    cities = ["上海", "北京", "广州", "深圳", "成都"]
    for i in range(120):
        rows.append(
            (str(100 + i), names[i % 10] + "一二三四五六七八九十"[i // 12 % 10], f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}",
             f"p{i}@example.com", cities[i % 5])
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=["cust_no", "full_name", "dob", "mail", "town"])
    src = tmp_path / "people.csv"
    frame.to_csv(src, index=False)
    result = _crmlens(
        "dedup", str(src), "--id-col", "cust_no", "--out", str(tmp_path / "out.csv"), "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["metrics"]["rows"] == len(frame)
    assert payload["roles"] == {"full_name": "name", "dob": "birth_date", "mail": "email", "town": "city"}
    out = pd.read_csv(tmp_path / "out.csv", dtype={"cust_no": str}).set_index("cust_no")
    assert out.loc["1", "resolved_id"] == out.loc["2", "resolved_id"]
    assert out.loc["3", "resolved_id"] == out.loc["4", "resolved_id"]
    assert out.loc["4", "match_rule"] == "same_email"
    assert out.loc["5", "cluster_size"] == 1
    bad = _crmlens("dedup", str(src), "--id-col", "nope", "--out", str(tmp_path / "x.csv"), cwd=tmp_path)
    assert bad.returncode == 1 and "--id-col 'nope'" in bad.stderr and "Traceback" not in bad.stderr

"""Unit tests for sendpro.validate.x12maps: difference files, map paths, applying changes and the map cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from sendpro.errors import MapError
from sendpro.resources import schemas_dir
from sendpro.validate import x12maps
from sendpro.validate.pyx12_bridge import project_map_dir, pyx12_map_dir, pyx12_version
from sendpro.validate.x12maps import MapDiff, apply_diff, build_map_dir, load_diff, resolve

REPO = Path(__file__).resolve().parents[2]
X298_TOML = schemas_dir() / "maps" / "005010X298A1.toml"

# A small map in pyx12's format: explicit and wrapper loops around ordinary ones,
# a loop (2300) under two parents and twin segments told apart by their qualifier.
SMALL_MAP = """<?xml version="1.0"?>
<transaction xid="837">
  <name>Small test map</name>
  <loop xid="ISA_LOOP" type="explicit">
    <name>Interchange</name><usage>R</usage><pos>0010</pos><repeat>&gt;1</repeat>
    <segment xid="ISA">
      <name>ISA</name><usage>R</usage><pos>0100</pos><max_use>1</max_use>
      <element xid="ISA01"><data_ele>I01</data_ele><name>Qual</name><usage>R</usage><seq>01</seq>
        <valid_codes><code>00</code><code>03</code></valid_codes></element>
    </segment>
    <loop xid="ST_LOOP" type="explicit">
      <name>Transaction</name><usage>R</usage><pos>0200</pos><repeat>&gt;1</repeat>
      <segment xid="ST">
        <name>ST</name><usage>R</usage><pos>0100</pos><max_use>1</max_use>
        <element xid="ST03"><data_ele>1705</data_ele><name>Version</name><usage>S</usage><seq>03</seq></element>
      </segment>
      <loop xid="HEADER" type="wrapper">
        <name>Header</name><usage>R</usage><pos>0300</pos><repeat>1</repeat>
        <segment xid="BHT">
          <name>BHT</name><usage>R</usage><pos>0100</pos><max_use>1</max_use>
          <element xid="BHT06"><data_ele>640</data_ele><name>Type</name><usage>R</usage><seq>06</seq>
            <valid_codes><code>31</code><code>CH</code><code>RP</code></valid_codes></element>
        </segment>
      </loop>
      <loop xid="DETAIL" type="wrapper">
        <name>Detail</name><usage>R</usage><pos>0400</pos><repeat>1</repeat>
        <loop xid="2000A">
          <name>Billing</name><usage>R</usage><pos>0010</pos><repeat>&gt;1</repeat>
          <segment xid="HL">
            <name>HL</name><usage>R</usage><pos>0010</pos><max_use>1</max_use>
            <element xid="HL03"><data_ele>735</data_ele><name>Level</name><usage>R</usage><seq>03</seq>
              <valid_codes><code>20</code></valid_codes></element>
          </segment>
          <loop xid="2300">
            <name>Claim A</name><usage>S</usage><pos>1300</pos><repeat>100</repeat>
            <segment xid="CLM">
              <name>Claim</name><usage>R</usage><pos>1300</pos><max_use>1</max_use>
              <element xid="CLM01"><data_ele>1028</data_ele><name>Id</name><usage>R</usage><seq>01</seq></element>
              <composite xid="CLM05">
                <data_ele>C023</data_ele><name>Facility</name><usage>R</usage><seq>05</seq>
                <element xid="CLM05-01"><data_ele>1331</data_ele><name>POS</name><usage>R</usage><seq>01</seq></element>
              </composite>
              <element xid="CLM06"><data_ele>1073</data_ele><name>Signature</name><usage>R</usage><seq>06</seq>
                <valid_codes><code>N</code><code>Y</code></valid_codes></element>
            </segment>
            <segment xid="DTP">
              <name>Onset</name><usage>S</usage><pos>1350</pos><max_use>1</max_use>
              <element xid="DTP01"><data_ele>374</data_ele><name>Qual</name><usage>R</usage><seq>01</seq>
                <valid_codes><code>431</code></valid_codes></element>
            </segment>
            <segment xid="DTP">
              <name>Service</name><usage>S</usage><pos>1350</pos><max_use>1</max_use>
              <element xid="DTP01"><data_ele>374</data_ele><name>Qual</name><usage>R</usage><seq>01</seq>
                <valid_codes><code>472</code></valid_codes></element>
            </segment>
          </loop>
          <loop xid="2000B">
            <name>Subscriber</name><usage>R</usage><pos>0020</pos><repeat>&gt;1</repeat>
            <loop xid="2300">
              <name>Claim B</name><usage>S</usage><pos>1300</pos><repeat>100</repeat>
              <segment xid="CLM">
                <name>Claim</name><usage>R</usage><pos>1300</pos><max_use>1</max_use>
                <element xid="CLM06"><data_ele>1073</data_ele><name>Signature</name><usage>R</usage><seq>06</seq>
                  <valid_codes><code>N</code><code>Y</code></valid_codes></element>
              </segment>
            </loop>
          </loop>
        </loop>
      </loop>
    </loop>
  </loop>
</transaction>
"""


@pytest.fixture
def small() -> etree._Element:
    return etree.fromstring(SMALL_MAP.encode())


def _toml(tmp_path: Path, text: str, name: str = "diff.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MAP_TABLE = '[map]\nguide = "005010X298A1"\nbase = "base.xml"\nfile = "derived.xml"\n'


def _codes(node: etree._Element) -> list[str]:
    return [c.text or "" for c in node.findall("valid_codes/code")]


# -- load_diff -------------------------------------------------------------------------------------------
def test_load_diff_reads_map_and_changes(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        MAP_TABLE + 'name = "Derived"\n[[change]]\npath = "BHT/BHT06"\ncodes = ["RP"]\nwhy = "reporting"\n'
        '[[change]]\npath = "**/2300/CLM/CLM06"\nall = true\nusage = "S"\nwhy = "not billing"\n',
    )
    d = load_diff(path)
    assert d.source == path
    assert (d.guide, d.base, d.file, d.name) == ("005010X298A1", "base.xml", "derived.xml", "Derived")
    assert d.changes == (
        {"path": "BHT/BHT06", "codes": ["RP"], "why": "reporting"},
        {"path": "**/2300/CLM/CLM06", "all": True, "usage": "S", "why": "not billing"},
    )


def test_load_diff_name_defaults_to_guide_and_changes_to_none(tmp_path: Path) -> None:
    d = load_diff(_toml(tmp_path, MAP_TABLE))
    assert d.name == "005010X298A1"
    assert d.changes == ()


def test_load_diff_of_the_project_file() -> None:
    d = load_diff(X298_TOML)
    assert d.guide == "005010X298A1"
    assert d.base == "837.5010.X222.A1.xml"
    assert d.file == "837.5010.X298.A1.xml"
    assert len(d.changes) >= 10
    assert all(ch.get("why") for ch in d.changes)
    assert x12maps.diff_files() == [X298_TOML] or X298_TOML in x12maps.diff_files()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[map\n", "cannot be read"),
        ('guide = "X"\n', "needs a \\[map\\] table"),
        ('map = "X"\n', "needs a \\[map\\] table"),
        ('[map]\nguide = "G"\nbase = "b.xml"\n', "needs a \\[map\\] table with guide, base and file"),
        ('[map]\nbase = "b.xml"\nfile = "f.xml"\n', "guide, base and file"),
        (MAP_TABLE + '[[change]]\npath = "A/B"\nusage = "S"\nwhy = "w"\ncolour = "red"\n', "unknown key\\(s\\) colour"),
        (MAP_TABLE + '[[change]]\npath = "A"\nusage = "S"\nwhy = "w"\nzeta = 1\nalpha = 2\n', "alpha, zeta"),
        (MAP_TABLE + '[[change]]\nusage = "S"\nwhy = "w"\n', "needs a path and a why"),
        (MAP_TABLE + '[[change]]\npath = "A/B"\nusage = "S"\n', "needs a path and a why"),
        (MAP_TABLE + '[[change]]\npath = "A/B"\nwhy = "w"\n', "change #1 \\(A/B\\) changes nothing"),
        (
            MAP_TABLE + '[[change]]\npath = "A"\nusage = "S"\nwhy = "w"\n[[change]]\npath = "B"\nwhy = "w"\n',
            "change #2 \\(B\\) changes nothing",
        ),
    ],
    ids=[
        "bad-toml",
        "no-map-table",
        "map-not-a-table",
        "no-file",
        "no-guide",
        "unknown-key",
        "unknown-keys-sorted",
        "no-path",
        "no-why",
        "no-effect",
        "second-change-no-effect",
    ],
)
def test_load_diff_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(MapError, match=message) as info:
        load_diff(path)
    assert str(path) in str(info.value)


def test_load_diff_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MapError, match="cannot be read"):
        load_diff(tmp_path / "absent.toml")


def test_load_diff_change_with_only_all_changes_nothing(tmp_path: Path) -> None:
    path = _toml(tmp_path, MAP_TABLE + '[[change]]\npath = "**/2300/CLM/CLM06"\nall = true\nwhy = "w"\n')
    with pytest.raises(MapError, match="changes nothing"):
        load_diff(path)


# -- resolve ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "xid", "tag"),
    [
        ("ISA/ISA01", "ISA01", "element"),
        ("ISA_LOOP/ISA/ISA01", "ISA01", "element"),
        ("ST/ST03", "ST03", "element"),
        ("BHT/BHT06", "BHT06", "element"),
        ("HEADER/BHT/BHT06", "BHT06", "element"),
        ("ST_LOOP/DETAIL/2000A/HL/HL03", "HL03", "element"),
        ("2000A/2300/CLM/CLM06", "CLM06", "element"),
        ("2000A/2300/CLM/CLM05", "CLM05", "composite"),
        ("2000A/2000B/2300/CLM", "CLM", "segment"),
        ("2000A/2000B", "2000B", "loop"),
        ("DETAIL", "DETAIL", "loop"),
    ],
)
def test_resolve_single_nodes(small: etree._Element, path: str, xid: str, tag: str) -> None:
    [node] = resolve(small, path)
    assert node.get("xid") == xid
    assert node.tag == tag


def test_resolve_looks_through_wrapper_and_explicit_loops_only(small: etree._Element) -> None:
    # 2000A is inside ISA_LOOP/ST_LOOP/DETAIL (explicit, explicit, wrapper): a direct step
    [loop] = resolve(small, "2000A")
    assert loop.findtext("name") == "Billing"
    # 2300 sits in an ordinary loop (2000A): not a direct child of the root
    with pytest.raises(MapError, match="nothing matches step '2300'"):
        resolve(small, "2300/CLM")
    with pytest.raises(MapError, match="nothing matches step 'CLM06'"):
        resolve(small, "2000A/CLM06")


def test_resolve_double_star_matches_any_depth(small: etree._Element) -> None:
    nodes = resolve(small, "**/2300/CLM/CLM06", many=True)
    assert len(nodes) == 2
    parents = {n.getparent().getparent().findtext("name") for n in nodes}
    assert parents == {"Claim A", "Claim B"}
    [one] = resolve(small, "2000A/**/2000B/**/CLM06")
    assert one in nodes
    # ** also matches zero levels
    [bht] = resolve(small, "**/BHT")
    assert bht.get("xid") == "BHT"


def test_resolve_ambiguous_path_is_an_error_unless_many(small: etree._Element) -> None:
    with pytest.raises(MapError, match="matches 2 nodes"):
        resolve(small, "**/2300/CLM/CLM06")
    with pytest.raises(MapError, match="matches 2 nodes"):
        resolve(small, "2000A/2300/DTP")
    assert len(resolve(small, "**/2300", many=True)) == 2
    assert len(resolve(small, "BHT", many=True)) == 1


def test_resolve_segment_qualifier(small: etree._Element) -> None:
    [service] = resolve(small, "2000A/2300/DTP[472]")
    assert service.findtext("name") == "Service"
    [onset] = resolve(small, "**/DTP[431]/DTP01")
    assert _codes(onset) == ["431"]
    [bht] = resolve(small, "BHT[RP]")
    assert bht.get("xid") == "BHT"
    with pytest.raises(MapError, match=r"nothing matches step 'DTP\[999\]'"):
        resolve(small, "2000A/2300/DTP[999]")


@pytest.mark.parametrize("path", ["CLM:06", "2000A//HL", "BHT/BHT 06", "DTP[47-2]", "DTP[]", "*/BHT", ""])
def test_resolve_rejects_malformed_steps(small: etree._Element, path: str) -> None:
    with pytest.raises(MapError, match="is not XID, XID\\[QUALIFIER\\] or \\*\\*"):
        resolve(small, path)


@pytest.mark.parametrize("path", ["2000A/2300/CLM/CLM05/CLM05-01", "**/CLM05-01"])
def test_resolve_composite_sub_element(small: etree._Element, path: str) -> None:
    [elem] = resolve(small, path)
    assert elem.get("xid") == "CLM05-01"
    assert elem.getparent().tag == "composite"


def test_resolve_unknown_step(small: etree._Element) -> None:
    with pytest.raises(MapError, match="map path 'BHT/BHT99': nothing matches step 'BHT99'"):
        resolve(small, "BHT/BHT99")


# -- apply_diff ------------------------------------------------------------------------------------------
def _diff(*changes: dict[str, object], name: str = "Derived map") -> MapDiff:
    return MapDiff(Path("test.toml"), "005010X298A1", "base.xml", "derived.xml", name, tuple(changes))


def _apply(small: etree._Element, *changes: dict[str, object]) -> etree._Element:
    apply_diff(etree.ElementTree(small), _diff(*changes))
    return small


def test_apply_diff_renames_the_map(small: etree._Element) -> None:
    _apply(small)
    assert small.findtext("name") == "Derived map"


def test_apply_usage_on_every_match(small: etree._Element) -> None:
    _apply(small, {"path": "**/2300/CLM/CLM06", "all": True, "usage": "S", "why": "w"})
    assert [n.findtext("usage") for n in resolve(small, "**/2300/CLM/CLM06", many=True)] == ["S", "S"]
    _apply(small, {"path": "2000A/2000B", "usage": "N", "why": "w"})
    assert resolve(small, "2000A/2000B")[0].findtext("usage") == "N"


def test_apply_codes_replaces(small: etree._Element) -> None:
    _apply(small, {"path": "BHT/BHT06", "codes": ["RP"], "why": "w"})
    assert _codes(resolve(small, "BHT/BHT06")[0]) == ["RP"]


def test_apply_codes_on_an_element_without_codes(small: etree._Element) -> None:
    _apply(small, {"path": "ST/ST03", "codes": ["005010X298A1", "005010X298A1"], "why": "w"})
    st03 = resolve(small, "ST/ST03")[0]
    assert _codes(st03) == ["005010X298A1"]
    assert st03.findtext("seq") == "03"


def test_apply_add_codes_keeps_existing_and_skips_duplicates(small: etree._Element) -> None:
    _apply(small, {"path": "2000A/HL/HL03", "add_codes": ["22", "20", "23", 22], "why": "w"})
    assert _codes(resolve(small, "2000A/HL/HL03")[0]) == ["20", "22", "23"]
    _apply(small, {"path": "ISA/ISA01", "add_codes": [], "why": "w"})
    assert _codes(resolve(small, "ISA/ISA01")[0]) == ["00", "03"]


def test_apply_codes_then_add_codes_in_one_change(small: etree._Element) -> None:
    _apply(small, {"path": "BHT/BHT06", "codes": ["RP"], "add_codes": ["31"], "why": "w"})
    assert _codes(resolve(small, "BHT/BHT06")[0]) == ["RP", "31"]


def test_apply_max_use_repeat_and_name(small: etree._Element) -> None:
    _apply(
        small,
        {"path": "2000A/2300/DTP[472]", "max_use": 3, "name": "Service Date", "why": "w"},
        {"path": "**/2300", "all": True, "repeat": ">1", "why": "w"},
    )
    dtp = resolve(small, "2000A/2300/DTP[472]")[0]
    assert (dtp.findtext("max_use"), dtp.findtext("name")) == ("3", "Service Date")
    assert [n.findtext("repeat") for n in resolve(small, "**/2300", many=True)] == [">1", ">1"]
    # the twin keeps its values
    onset = resolve(small, "2000A/2300/DTP[431]")[0]
    assert (onset.findtext("max_use"), onset.findtext("name")) == ("1", "Onset")


def test_apply_changes_in_order(small: etree._Element) -> None:
    _apply(
        small,
        {"path": "BHT/BHT06", "codes": ["CH"], "why": "w"},
        {"path": "BHT/BHT06", "codes": ["RP"], "why": "w"},
    )
    assert _codes(resolve(small, "BHT/BHT06")[0]) == ["RP"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "BHT/BHT06", "usage": "X"}, "usage must be R, S or N, not 'X'"),
        ({"path": "BHT", "codes": ["RP"]}, "codes can only be set on elements, not segment BHT"),
        ({"path": "2000A", "add_codes": ["RP"]}, "codes can only be set on elements, not loop 2000A"),
        ({"path": "BHT/BHT06", "max_use": 2}, "map node BHT06 has no <max_use> to change"),
        ({"path": "BHT", "repeat": 2}, "map node BHT has no <repeat> to change"),
        ({"path": "**/2300/CLM/CLM06", "usage": "S"}, "matches 2 nodes"),
        ({"path": "BHT/BHT07", "usage": "S"}, "nothing matches"),
    ],
)
def test_apply_errors_name_the_diff_file(small: etree._Element, change: dict[str, object], message: str) -> None:
    with pytest.raises(MapError, match=message) as info:
        _apply(small, {**change, "why": "w"})
    if "matches" not in message:
        assert str(info.value).startswith(f"test.toml: change {change['path']}:")


# -- build_map_dir on the installed pyx12 -------------------------------------------------------------------
def _repo_map_files() -> set[Path]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(REPO):
        dirnames[:] = [d for d in dirnames if d not in (".venv", ".git", "node_modules")]
        for f in filenames:
            if f == "maps.xml" or (f.startswith("837") and f.endswith(".xml")):
                out.add(Path(dirpath) / f)
    return out


@pytest.fixture(scope="module")
def repo_maps_before() -> set[Path]:
    return _repo_map_files()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, repo_maps_before: set[Path]) -> Path:
    root = tmp_path_factory.mktemp("pyx12-maps")
    return build_map_dir(pyx12_map_dir(), pyx12_version(), root)


@pytest.fixture(scope="module")
def derived(built: Path) -> etree._Element:
    return etree.parse(str(built / "837.5010.X298.A1.xml")).getroot()


def test_build_registers_the_derived_map(built: Path) -> None:
    index = etree.parse(str(built / "maps.xml")).getroot()
    version = index.find("version[@icvn='00501']")
    assert version is not None
    entries = version.findall("map[@vriic='005010X298A1']")
    assert len(entries) == 1
    assert entries[0].get("fic") == "HC"
    assert entries[0].text == "837.5010.X298.A1.xml"
    assert entries[0].get("abbr") == "837-X298"
    # pyx12's own maps stay registered
    assert version.find("map[@vriic='005010X222A1']").text == "837.5010.X222.A1.xml"  # type: ignore[union-attr]
    assert (built / "837.5010.X298.A1.xml").is_file()


def test_build_copies_pyx12_map_set(built: Path) -> None:
    source = {p.name for p in pyx12_map_dir().iterdir() if p.suffix in (".xml", ".xsd", ".dtd")}
    assert source <= {p.name for p in built.iterdir()}
    assert "codes.xml" in source and "dataele.xml" in source
    assert not list(built.glob("*.py"))


def test_build_directory_is_named_by_cache_key(built: Path) -> None:
    assert len(built.name) == 16
    assert int(built.name, 16) >= 0
    assert [p.name for p in built.parent.iterdir()] == [built.name]


def test_derived_map_name(derived: etree._Element) -> None:
    assert derived.get("xid") == "837"
    assert derived.findtext("name") == load_diff(X298_TOML).name


def test_every_declared_change_is_in_the_derived_map(derived: etree._Element) -> None:
    diff = load_diff(X298_TOML)
    for change in diff.changes:
        nodes = resolve(derived, str(change["path"]), many=bool(change.get("all", False)))
        for node in nodes:
            where = f"{change['path']} ({node.get('xid')})"
            if "usage" in change:
                assert node.findtext("usage") == change["usage"], where
            if "codes" in change:
                codes = _codes(node)
                if "add_codes" not in change:
                    assert codes == list(change["codes"]), where
                assert set(change["codes"]) <= set(codes), where
            if "add_codes" in change:
                assert set(change["add_codes"]) <= set(_codes(node)), where
            for key in ("max_use", "repeat", "name"):
                if key in change:
                    assert node.findtext(key) == str(change[key]), where


def _xp(root: etree._Element, path: str) -> list[etree._Element]:
    """XPath over map nodes by xid: an oracle independent of resolve()."""
    nodes = root.xpath(path)
    assert nodes, path
    return nodes  # type: ignore[return-value]


def _x(xid: str) -> str:
    return f"*[@xid='{xid}']"


def test_derived_map_specific_differences(derived: etree._Element) -> None:
    for n in ("06", "07", "08", "09"):
        clm = _xp(derived, f"//loop[@xid='2300']/segment[@xid='CLM']/element[@xid='CLM{n}']")
        assert len(clm) == 2
        assert {c.findtext("usage") for c in clm} == {"S"}
    assert [_codes(n) for n in _xp(derived, f"//{_x('BHT')}/{_x('BHT06')}")] == [["RP"]]
    assert [_codes(n) for n in _xp(derived, f"//{_x('GS')}/{_x('GS08')}")] == [["005010X298A1"]]
    assert [_codes(n) for n in _xp(derived, f"//{_x('ST')}/{_x('ST03')}")] == [["005010X298A1"]]
    oi = _xp(derived, f"//{_x('2320')}/{_x('OI')}")
    assert len(oi) == 2 and {n.findtext("usage") for n in oi} == {"S"}
    sbr06 = _xp(derived, f"//{_x('2320')}/{_x('SBR')}/{_x('SBR06')}")
    assert len(sbr06) == 2 and all(_codes(n) == ["6"] for n in sbr06)
    assert {n.findtext("usage") for n in _xp(derived, f"//{_x('2300')}/{_x('2320')}")} == {"R"}
    [nm101] = _xp(derived, f"//{_x('2010BB')}/segment[@xid='NM1']/{_x('NM101')}")
    assert {"PR", "ZD"} <= set(_codes(nm101))
    [sbr01] = _xp(derived, f"//{_x('2000B')}/{_x('SBR')}/{_x('SBR01')}")
    assert "N" in _codes(sbr01)
    nm103 = _xp(derived, f"//{_x('2400')}/{_x('2420A')}/{_x('NM1')}/{_x('NM103')}")
    assert {n.findtext("usage") for n in nm103} == {"S"}
    # untouched parts keep pyx12's values
    assert [n.findtext("usage") for n in _xp(derived, f"//{_x('2300')}/{_x('CLM')}/{_x('CLM01')}")] == ["R", "R"]


def test_base_map_in_pyx12_is_untouched(built: Path) -> None:
    base = etree.parse(str(pyx12_map_dir() / "837.5010.X222.A1.xml")).getroot()
    assert set(_codes(_xp(base, f"//{_x('BHT')}/{_x('BHT06')}")[0])) >= {"CH", "RP"}
    assert {n.findtext("usage") for n in _xp(base, f"//{_x('2300')}/{_x('CLM')}/{_x('CLM06')}")} == {"R"}
    assert not (pyx12_map_dir() / "837.5010.X298.A1.xml").exists()
    base_index = (pyx12_map_dir() / "maps.xml").read_text(encoding="utf-8")
    assert "005010X298A1" not in base_index
    # the copy in the cache is pyx12's base map, byte for byte
    assert (built / "837.5010.X222.A1.xml").read_bytes() == (pyx12_map_dir() / "837.5010.X222.A1.xml").read_bytes()


def test_build_reuses_the_cache(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = (built / "maps.xml").stat().st_mtime_ns

    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached map directory was rebuilt")

    monkeypatch.setattr(x12maps.tempfile, "mkdtemp", no_rebuild)
    monkeypatch.setattr(x12maps.shutil, "copyfile", no_rebuild)
    monkeypatch.setattr(x12maps, "apply_diff", no_rebuild)
    again = build_map_dir(pyx12_map_dir(), pyx12_version(), built.parent)
    assert again == built
    assert (built / "maps.xml").stat().st_mtime_ns == stamp
    assert [p.name for p in built.parent.iterdir()] == [built.name]


def test_no_map_file_is_written_in_the_repository(built: Path, repo_maps_before: set[Path]) -> None:
    project_map_dir()
    assert REPO not in built.parents
    assert REPO not in project_map_dir().parents
    assert _repo_map_files() == repo_maps_before
    assert not [p for p in _repo_map_files() if p.name == "837.5010.X298.A1.xml"]


def test_project_map_dir_uses_sendpro_cache_dir() -> None:
    cache = Path(os.environ["SENDPRO_CACHE_DIR"])
    maps = project_map_dir()
    assert maps.parent == cache / "pyx12-maps"
    assert (maps / "maps.xml").is_file()
    assert project_map_dir() == maps


# -- build_map_dir with a tiny fake pyx12 ------------------------------------------------------------------------
FAKE_INDEX = """<?xml version="1.0"?>
<maps>
  <version icvn="00401"><map vriic="004010X098A1" fic="HC" abbr="837">old.xml</map></version>
  <version icvn="00501">
    <map vriic="005010X222A1" fic="HC" abbr="837P">base.xml</map>
    <map vriic="005010X298A1" fic="HC" abbr="stale">stale.xml</map>
  </version>
</maps>
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fake pyx12 map dir with the small map as base, and a one-change difference file."""
    pyx12_dir = tmp_path / "pyx12map"
    pyx12_dir.mkdir()
    (pyx12_dir / "maps.xml").write_text(FAKE_INDEX, encoding="utf-8")
    (pyx12_dir / "base.xml").write_text(SMALL_MAP, encoding="utf-8")
    (pyx12_dir / "codes.xsd").write_text("<xsd/>", encoding="utf-8")
    (pyx12_dir / "README").write_text("not a map", encoding="utf-8")
    (pyx12_dir / "dump.py").write_text("print()", encoding="utf-8")
    diff = _toml(
        tmp_path,
        MAP_TABLE + 'name = "Tiny"\n[[change]]\npath = "BHT/BHT06"\ncodes = ["RP"]\nwhy = "w"\n',
        "tiny.toml",
    )
    monkeypatch.setattr(x12maps, "diff_files", lambda: [diff])
    return pyx12_dir, diff


def test_fake_build_copies_only_map_files_and_replaces_the_entry(fake: tuple[Path, Path], tmp_path: Path) -> None:
    pyx12_dir, _ = fake
    out = build_map_dir(pyx12_dir, "1.0", tmp_path / "cache")
    assert sorted(p.name for p in out.iterdir()) == ["base.xml", "codes.xsd", "derived.xml", "maps.xml"]
    version = etree.parse(str(out / "maps.xml")).getroot().find("version[@icvn='00501']")
    entries = version.findall("map[@vriic='005010X298A1']")  # type: ignore[union-attr]
    assert [(e.text, e.get("abbr")) for e in entries] == [("derived.xml", "837-X298")]
    derived = etree.parse(str(out / "derived.xml")).getroot()
    assert derived.findtext("name") == "Tiny"
    assert _codes(resolve(derived, "BHT/BHT06")[0]) == ["RP"]
    # the fake pyx12 dir is untouched
    assert sorted(p.name for p in pyx12_dir.iterdir()) == ["README", "base.xml", "codes.xsd", "dump.py", "maps.xml"]


def test_cache_key_covers_pyx12_version_and_the_difference_files(fake: tuple[Path, Path], tmp_path: Path) -> None:
    pyx12_dir, diff = fake
    root = tmp_path / "cache"
    a = build_map_dir(pyx12_dir, "1.0", root)
    b = build_map_dir(pyx12_dir, "1.1", root)
    assert a != b
    assert build_map_dir(pyx12_dir, "1.0", root) == a
    diff.write_text(diff.read_text(encoding="utf-8").replace('["RP"]', '["CH"]'), encoding="utf-8")
    c = build_map_dir(pyx12_dir, "1.0", root)
    assert c not in (a, b)
    assert _codes(resolve(etree.parse(str(c / "derived.xml")).getroot(), "BHT/BHT06")[0]) == ["CH"]
    assert sorted(p.name for p in root.iterdir()) == sorted({a.name, b.name, c.name})


def test_build_without_target_uses_the_cache_environment(
    fake: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyx12_dir, _ = fake
    monkeypatch.setenv("SENDPRO_CACHE_DIR", str(tmp_path / "sp"))
    assert build_map_dir(pyx12_dir, "1.0").parent == tmp_path / "sp" / "pyx12-maps"
    monkeypatch.delenv("SENDPRO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build_map_dir(pyx12_dir, "1.0").parent == tmp_path / "xdg" / "sendpro" / "pyx12-maps"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert build_map_dir(pyx12_dir, "1.0").parent == tmp_path / "home" / ".cache" / "sendpro" / "pyx12-maps"


def test_missing_base_map_fails_and_leaves_no_work_dir(fake: tuple[Path, Path], tmp_path: Path) -> None:
    pyx12_dir, _ = fake
    (pyx12_dir / "base.xml").unlink()
    root = tmp_path / "cache"
    with pytest.raises(MapError, match=r"base map base.xml is not in the installed pyx12 \(9.9\)"):
        build_map_dir(pyx12_dir, "9.9", root)
    assert list(root.iterdir()) == []


def test_change_that_does_not_apply_fails_and_leaves_no_work_dir(fake: tuple[Path, Path], tmp_path: Path) -> None:
    pyx12_dir, diff = fake
    diff.write_text(MAP_TABLE + '[[change]]\npath = "BHT/BHT99"\nusage = "S"\nwhy = "w"\n', encoding="utf-8")
    root = tmp_path / "cache"
    with pytest.raises(MapError, match="BHT99"):
        build_map_dir(pyx12_dir, "1.0", root)
    assert list(root.iterdir()) == []


def test_index_without_00501_fails(fake: tuple[Path, Path], tmp_path: Path) -> None:
    pyx12_dir, _ = fake
    (pyx12_dir / "maps.xml").write_text('<maps><version icvn="00401"/></maps>', encoding="utf-8")
    root = tmp_path / "cache"
    with pytest.raises(MapError, match="no 00501 version entry"):
        build_map_dir(pyx12_dir, "1.0", root)
    assert list(root.iterdir()) == []


def test_broken_difference_file_fails_before_building(fake: tuple[Path, Path], tmp_path: Path) -> None:
    pyx12_dir, diff = fake
    diff.write_text("[map]\n", encoding="utf-8")
    with pytest.raises(MapError, match="needs a \\[map\\] table"):
        build_map_dir(pyx12_dir, "1.0", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


# -- structural changes and the institutional / dental maps ----------------------------------------------
_NEW_SEG = '<segment xid="ZZZ"><name>New</name><usage>S</usage><pos>3701</pos><max_use>1</max_use></segment>'


def test_insert_before_after_and_remove(small: etree._Element) -> None:
    _apply(small, {"path": "**/2300/CLM", "all": True, "why": "w", "insert_after": _NEW_SEG})
    loops = resolve(small, "**/2300", many=True)
    for loop in loops:
        ids = [c.get("xid") for c in loop if c.tag == "segment"]
        assert ids[ids.index("CLM") + 1] == "ZZZ"
    _apply(small, {"path": "**/2300/ZZZ", "all": True, "why": "w", "remove": True})
    assert not [n for n in small.iter("segment") if n.get("xid") == "ZZZ"]
    _apply(small, {"path": "**/2300/CLM", "all": True, "why": "w", "insert_before": _NEW_SEG})
    for loop in resolve(small, "**/2300", many=True):
        ids = [c.get("xid") for c in loop if c.tag == "segment"]
        assert ids[ids.index("CLM") - 1] == "ZZZ"


@pytest.mark.parametrize(
    ("snippet", "message"),
    [("<segment xid='A'>", "not well formed"), ("<name>x</name>", "must be a segment")],
)
def test_insert_rejects_bad_snippets(small: etree._Element, snippet: str, message: str) -> None:
    with pytest.raises(MapError, match=message):
        _apply(small, {"path": "**/2300/CLM", "all": True, "why": "w", "insert_after": snippet})


def test_institutional_and_dental_maps_are_derived(built: Path) -> None:
    index = etree.parse(str(built / "maps.xml")).getroot()
    version = index.find("version[@icvn='00501']")
    assert version is not None
    registered = {m.get("vriic"): m.text for m in version.findall("map")}
    assert registered["005010X299A1"] == "837.5010.X299.A1.xml"
    assert registered["005010X300A1"] == "837.5010.X300.A1.xml"
    inst = etree.parse(str(built / "837.5010.X299.A1.xml")).getroot()
    assert [_codes(n) for n in resolve(inst, "**/2300/CLM/CLM07", many=True)]
    assert all(n.findtext("usage") == "S" for n in resolve(inst, "**/2300/CLM/CLM08", many=True))
    dental = etree.parse(str(built / "837.5010.X300.A1.xml")).getroot()
    for loop in resolve(dental, "**/2400", many=True):
        ids = [c.get("xid") for c in loop if c.tag == "segment"]
        assert "SV1" not in ids
        assert ids[ids.index("LX") + 1 : ids.index("LX") + 3] == ["SV3", "TOO"]
    assert _codes(resolve(dental, "**/2400/SV3/SV301/SV301-01", many=True)[0]) == ["AD"]
    assert _codes(resolve(dental, "**/2400/TOO/TOO03/TOO03-01", many=True)[0]) == ["B", "D", "F", "I", "L", "M", "O"]
    for loop in resolve(dental, "**/2300", many=True):
        ids = [c.get("xid") for c in loop if c.tag == "segment"]
        assert ids.index("DN1") + 1 == ids.index("DN2") < ids.index("PWK")
    assert "AD" in _codes(resolve(dental, "**/2430/SVD/SVD03/SVD03-01", many=True)[0])

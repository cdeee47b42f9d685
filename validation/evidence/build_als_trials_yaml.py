"""Build src/alsmeta/evidence/data/als_trials.yaml from the research files.

Run from the repository root (needs ../shared/research/als_trials.csv):

    .venv/bin/python validation/evidence/build_als_trials_yaml.py

Every number is copied from a cell of als_trials.csv (its text kept verbatim in
``reported``) or from a fact of als_trials.md with the URL and place that file gives.
Nothing is computed here except unit labels; the hand-made choices (study grouping,
categories, which cell holds which kind of number) are the dictionaries below, so that
they can be reviewed in one place.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT.parent / "shared" / "research" / "als_trials.csv"
OUT = ROOT / "src" / "alsmeta" / "evidence" / "data" / "als_trials.yaml"

OH_ABSTRACT = "https://pmc.ncbi.nlm.nih.gov/articles/PMC6175096"
CUD_T1 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC9305113/table/mus27472-tbl-0001"
CUD_ABS = "https://repository.escholarship.umassmed.edu/handle/20.500.14038/52196"
CUD_REG = "https://classic.clinicaltrials.gov/ct2/show/results/NCT03280056"

# ---------------------------------------------------------------------- studies
# study_id -> (csv rows, facts). design/cell_type/route are the controlled categories.
STUDIES: dict[str, dict[str, Any]] = {
    "Oh2018": dict(
        rows=[
            "Oh2018_ALSFRSR_chg_4mo",
            "Oh2018_ALSFRSR_chg_6mo",
            "Oh2018_ALSFRSR_slopechange_a",
            "Oh2018_ALSFRSR_slopechange_b_6mo",
        ],
        citation="Oh KW, Noh MY, Kwon MS, et al. Repeated intrathecal mesenchymal stem cells for "
        "amyotrophic lateral sclerosis. Ann Neurol 2018;84(3):361-373.",
        url=OH_ABSTRACT,
        registration="NCT01363401",
        design="RCT",
        randomised=True,
        blinding=None,
        funding=None,
        cell_type="MSC, bone marrow",
        route="intrathecal",
        doses=2,
        source=(OH_ABSTRACT, "Abstract"),
        enrolled=(64, "Randomised 64 (MSC 33, control 31)", OH_ABSTRACT, "Abstract"),
    ),
    "Cudkowicz2022": dict(
        rows=["Cudkowicz2022_primary_responder_28wk"]
        + [f"Cudkowicz2022_ALSFRSR_chg_wk28_baselinege{t}" for t in range(34, 25, -1)],
        citation="Cudkowicz ME, Lindborg SR, Goyal NA, et al. A randomized placebo-controlled "
        "phase 3 study of mesenchymal stem cells induced to secrete high levels of neurotrophic "
        "factors in amyotrophic lateral sclerosis. Muscle Nerve 2022;65(3):291-302.",
        url="https://pmc.ncbi.nlm.nih.gov/articles/PMC9305113",
        registration="NCT03280056",
        design="RCT",
        randomised=True,
        blinding="double-blind, placebo-controlled",
        funding="Brainstorm-Cell Therapeutics (sponsor); CIRM collaborator (grant CLIN2-09894)",
        cell_type="MSC-NTF",
        route="intrathecal",
        doses=3,
        source=(CUD_ABS, "Abstract"),
        enrolled=(196, "196 randomised", CUD_REG, "ClinicalTrials.gov results record"),
    ),
    "Berry2019": dict(
        rows=["Berry2019_ALSFRSR_slopechange_overall"],
        citation="Berry JD, Cudkowicz ME, Windebank AJ, et al. NurOwn, phase 2, randomized, "
        "clinical trial in patients with ALS: safety, clinical, and biomarker results. "
        "Neurology 2019;93(24):e2294.",
        registration="NCT02017912",
        design="RCT",
        randomised=True,
        blinding="placebo-controlled (blinding not stated in the text read)",
        funding="Brainstorm (sponsor)",
        cell_type="MSC-NTF",
        route="intrathecal + intramuscular",
        doses=1,
        enrolled=(48, "48 randomised 3:1", None, None),
    ),
    "Petrou2016_ph12": dict(
        rows=["Petrou2016_ph12_IT_slope"],
        citation="Petrou P, Gothelf Y, Argov Z, et al. Safety and clinical effects of mesenchymal "
        "stem cells secreting neurotrophic factor transplantation in patients with amyotrophic "
        "lateral sclerosis: results of phase 1/2 and 2a clinical trials. JAMA Neurol "
        "2016;73(3):337-44. Phase 1/2, intrathecal cohort.",
        registration="NCT01051882",
        design="single-arm with lead-in",
        randomised=False,
        blinding="open-label",
        funding="Brainstorm (sponsor, per registry)",
        cell_type="MSC-NTF",
        route="intrathecal",
        doses=1,
    ),
    "Petrou2016_ph2a": dict(
        rows=["Petrou2016_ph2a_IMIT_slope"],
        citation="Petrou P, Gothelf Y, Argov Z, et al. JAMA Neurol 2016;73(3):337-44. Phase 2a "
        "cohort (intrathecal + intramuscular, dose-escalating).",
        registration="NCT01051882",
        design="single-arm with lead-in",
        randomised=False,
        blinding="open-label",
        funding="Brainstorm (sponsor, per registry)",
        cell_type="MSC-NTF",
        route="intrathecal + intramuscular",
        doses=1,
    ),
    "Nefussy2010": dict(
        rows=["Nefussy2010_GCSF"],
        citation="Nefussy B, Artamonov I, Deutsch V, et al. Recombinant human granulocyte-colony "
        "stimulating factor administration for treating amyotrophic lateral sclerosis: a pilot "
        "study. Amyotroph Lateral Scler 2010;11(1-2):187-93.",
        design="RCT",
        randomised=True,
        blinding="double-blind, placebo-controlled",
        funding="Public Committee for Allocation of Estate Funds, Ministry of Justice, Israel; "
        "ISRALS",
        cell_type="G-CSF mobilisation",
        route=None,
        doses=None,
        enrolled=(39, "39 enrolled", None, None),
    ),
    "Amirzagar2015": dict(
        rows=["Amirzagar2015_GCSF"],
        citation="Amirzagar N, Nafissi S, Tafakhori A, et al. Granulocyte colony-stimulating "
        "factor for amyotrophic lateral sclerosis: a randomized, double-blind, "
        "placebo-controlled study of Iranian patients. J Clin Neurol 2015;11(2):164-71.",
        registration="IRCT201207238509N2",
        design="RCT",
        randomised=True,
        blinding="double-blind, placebo-controlled",
        cell_type="G-CSF mobilisation",
        route="subcutaneous",
        doses=None,
        enrolled=(40, "40 randomised", None, None),
    ),
    "Duning2011": dict(
        rows=["Duning2011_GCSF"],
        citation="Duning T, Schiffbauer H, Warnecke T, et al. G-CSF prevents the progression of "
        "structural disintegration of white matter tracts in amyotrophic lateral sclerosis: a "
        "pilot trial. PLoS One 2011;6(3):e17770.",
        doi="10.1371/journal.pone.0017770",
        design="RCT",
        randomised=True,
        blinding="double-blind, placebo-controlled",
        cell_type="G-CSF mobilisation",
        route="subcutaneous",
        doses=None,
        enrolled=(10, "10 patients total", None, None),
    ),
    "Chio2011": dict(
        rows=["Chio2011_GCSF"],
        citation="Chio A, Mora G, La Bella V, et al. Repeated courses of granulocyte colony-"
        "stimulating factor in amyotrophic lateral sclerosis: clinical and biological results "
        "from a prospective multicenter study. Muscle Nerve 2011;43:189-195.",
        design="single-arm",
        randomised=False,
        blinding="open-label",
        cell_type="G-CSF mobilisation",
        route=None,
        doses=4,
    ),
    "Goutman2018": dict(
        rows=["Goutman2018_vsPROACT_24mo", "Goutman2018_vsCeftriaxone_24mo"],
        citation="Goutman SA, Brown MB, Glass JD, et al. Long-term phase 1/2 intraspinal stem "
        "cell transplantation outcomes in ALS. Ann Clin Transl Neurol 2018;5(6):730-740.",
        design="external or historical control",
        randomised=False,
        blinding="open-label (phase 1/2 participants)",
        cell_type="neural stem/progenitor cells",
        route="intraspinal",
        doses=None,
    ),
    "Glass2016": dict(
        rows=["Glass2016_NSI566_ph2"],
        citation="Glass JD, Hertzberg VS, Boulis NM, et al. Transplantation of spinal "
        "cord-derived neural stem cells for ALS: analysis of phase 1 and 2 trials. Neurology "
        "2016;87(4):392-400.",
        design="external or historical control",
        randomised=False,
        blinding="open-label",
        cell_type="neural stem/progenitor cells",
        route="intraspinal",
        doses=None,
    ),
    "Barczewska2020": dict(
        rows=["Barczewska2020_WJMSC_vsPROACT"],
        citation="Barczewska M, Maksymowicz S, Zdolinska-Malinowska I, Siwek T, Grudniak M. "
        "Umbilical cord mesenchymal stem cells in amyotrophic lateral sclerosis: an original "
        "study. Stem Cell Rev Rep 2020;16:922-932.",
        design="external or historical control",
        randomised=False,
        cell_type="MSC, Wharton's jelly",
        route="intrathecal",
        doses=3,
    ),
    "Sharma_conference": dict(
        rows=["Sharma_BMMNC_survival_37v20"],
        citation="Sharma A (NeuroGen Brain and Spine Institute). Clinical results of stem cell "
        "therapy in neurological disorders. Conference abstract, item (B)(2); year unknown.",
        design="non-randomised controlled",
        randomised=False,
        cell_type="bone-marrow mononuclear cells",
        route="intrathecal",
        doses=None,
    ),
    "Sharma2021": dict(
        rows=["Sharma2021_BMMNC_10yr"],
        citation="Sharma A, et al. J Neurorestoratology 2021;9(2):117-136.",
        design="non-randomised controlled",
        randomised=False,
        cell_type="bone-marrow mononuclear cells",
        route=None,
        doses=None,
    ),
    "Martinez2009": dict(
        rows=["Martinez2009_CD133_motorcortex"],
        citation="Martinez HR, Gonzalez-Garza MT, Moreno-Cuevas JE, et al. Stem-cell "
        "transplantation into the frontal motor cortex in amyotrophic lateral sclerosis "
        "patients. Cytotherapy 2009;11(1):26-34.",
        design="non-randomised controlled",
        randomised=False,
        cell_type="CD133+ cells",
        route="intracerebral",
        doses=1,
    ),
    "GeijoBarrientos2020": dict(
        rows=["GeijoBarrientos2020_IM_BMMC"],
        citation="Geijo-Barrientos E, Pastore-Olmedo C, De Mingo P, et al. Intramuscular "
        "injection of bone marrow stem cells in amyotrophic lateral sclerosis patients: a "
        "randomized clinical trial. Front Neurosci 2020;14:195.",
        design="within-patient randomised",
        randomised=True,
        blinding="double-blind, placebo-controlled (contralateral muscle)",
        cell_type="bone-marrow mononuclear cells",
        route="intramuscular",
        doses=1,
        enrolled=(22, "22 patients", None, None),
    ),
    "Oh2015": dict(
        rows=["Oh2015_phI"],
        citation="Oh KW, et al. Stem Cells Transl Med 2015;4(6):590-7.",
        design="single-arm with lead-in",
        randomised=False,
        blinding="open-label",
        cell_type="MSC, bone marrow",
        route="intrathecal",
        doses=2,
        enrolled=(8, "8 enrolled, 7 treated, 1 died before treatment", None, None),
    ),
    "Sykova2017": dict(
        rows=["Sykova2017_phI_IIa"],
        citation="Sykova E, Rychmach P, Drahoradova I, et al. Transplantation of mesenchymal "
        "stromal cells in patients with amyotrophic lateral sclerosis: results of phase I/IIa "
        "clinical trial. Cell Transplant 2017.",
        registration="EudraCT 2011-000362-35",
        design="single-arm with lead-in",
        randomised=False,
        blinding="open-label",
        cell_type="MSC, bone marrow",
        route="intrathecal",
        doses=1,
    ),
    "Blanquer2012": dict(
        rows=["Blanquer2012_phI"],
        citation="Blanquer M, Moraleda JM, Iniesta F, et al. Neurotrophic bone marrow cellular "
        "nests prevent spinal motoneuron degeneration in amyotrophic lateral sclerosis "
        "patients: a pilot safety study. Stem Cells 2012;30(6):1277-85.",
        design="single-arm with lead-in",
        randomised=False,
        cell_type="bone-marrow mononuclear cells",
        route="intraspinal",
        doses=1,
    ),
    "Siwek2020": dict(
        rows=["Siwek2020"],
        citation="Siwek T, Jezierska-Wozniak K, Maksymowicz S, et al. Repeat administration of "
        "bone marrow-derived mesenchymal stem cells to patients with amyotrophic lateral "
        "sclerosis. Med Sci Monit 2020.",
        design="single-arm with lead-in",
        randomised=False,
        cell_type="MSC, bone marrow",
        route="intrathecal",
        doses=3,
    ),
    "Karussis2021": dict(
        rows=["Karussis2021_phII"],
        citation="Karussis D, et al. Front Biosci 2021;26(10).",
        design="single-arm",
        randomised=False,
        blinding="open-label",
        cell_type="MSC, source not stated",
        route="intrathecal",
        doses=None,
        enrolled=(20, "20 enrolled", None, None),
    ),
    "Karussis2010": dict(
        rows=["Karussis2010"],
        citation="Karussis D, Karageorgiou C, Vaknin-Dembinsky A, et al. Safety and "
        "immunological effects of mesenchymal stem cell transplantation in patients with "
        "multiple sclerosis and amyotrophic lateral sclerosis. Arch Neurol 2010.",
        design="single-arm",
        randomised=False,
        blinding="open-label",
        cell_type="MSC, bone marrow",
        route="intrathecal + intravenous",
        doses=None,
    ),
    "Staff2016": dict(
        rows=["Staff2016_ADMSC_phI"],
        citation="Staff NP, et al. Safety of intrathecal autologous adipose-derived mesenchymal "
        "stromal cells in patients with ALS. Neurology 2016.",
        registration="NCT01609283",
        design="single-arm",
        randomised=False,
        funding="Mayo Clinic (sponsor)",
        cell_type="MSC, adipose",
        route="intrathecal",
        doses=None,
    ),
    "Prabhakar2012": dict(
        rows=["Prabhakar2012"],
        citation="Prabhakar S, et al. 2012 (open-label pilot study).",
        design="single-arm",
        randomised=False,
        blinding="open-label",
        funding="PGIMER",
        cell_type="bone-marrow-derived cells, type not stated",
        route="intrathecal",
        doses=1,
    ),
    "Nabavi2018": dict(
        rows=["Nabavi2018_phI"],
        citation="Nabavi SM, Arab L, et al. 2018 (phase I).",
        design="uncontrolled comparison of treated groups",
        randomised=False,
        blinding="open-label",
        cell_type="MSC, bone marrow",
        route="intrathecal or intravenous (separate groups)",
        doses=1,
    ),
    "Mazzini2015": dict(
        rows=["Mazzini2015_hNSC_phI"],
        citation="Mazzini L, Gelati M, et al. Human neural stem cell transplantation in ALS: "
        "initial results from a phase I trial. J Transl Med 2015.",
        design="single-arm",
        randomised=False,
        cell_type="neural stem/progenitor cells",
        route="intraspinal",
        doses=1,
    ),
    "Mazzini2019": dict(
        rows=["Mazzini2019_hNSC_phI"],
        citation="Mazzini L, Vescovi A, et al. Stem Cells "
        "Transl Med 2019 (phase I, long-term follow-up).",
        design="single-arm",
        randomised=False,
        cell_type="neural stem/progenitor cells",
        route="intraspinal",
        doses=1,
    ),
    "Feldman2014": dict(
        rows=["Feldman2014_NSI566_phI"],
        citation="Feldman EL, Boulis NM, et al. Intraspinal neural stem cell transplantation in "
        "amyotrophic lateral sclerosis: phase 1 trial outcomes. Ann Neurol 2014.",
        design="single-arm",
        randomised=False,
        blinding="open-label",
        cell_type="neural stem/progenitor cells",
        route="intraspinal",
        doses=None,
    ),
    "Baloh2022": dict(
        rows=["Baloh2022_CNS10NPCGDNF"],
        citation="Baloh RH, et al. Transplantation of human neural progenitor cells secreting "
        "GDNF into the spinal cord of patients with ALS: a phase 1/2a trial. Nat Med 2022.",
        design="within-patient controlled",
        randomised=False,
        funding="CIRM (DR2-05320, CLIN2-09284)",
        cell_type="neural stem/progenitor cells",
        route="intraspinal",
        doses=1,
    ),
    "Shamsaei2023": dict(
        rows=["Shamsaei2023_phI"],
        citation="Shamsaei G, et al. Adv Pharm Bull 2023 (phase I).",
        design="single-arm",
        randomised=False,
        cell_type="MSC, bone marrow",
        route="intrathecal",
        doses=1,
    ),
    "Barczewska2019": dict(
        rows=["Barczewska2019_safety"],
        citation="Barczewska M, et al. 2019 (safety study).",
        registration="NCT02881476",
        design="single-arm",
        randomised=False,
        cell_type="MSC, Wharton's jelly",
        route="intrathecal",
        doses=None,
    ),
    "Li2017": dict(
        rows=["Li2017_PBMNC"],
        citation="Li XY, Liang ZH, et al. 2017 (retrospective study).",
        design="single-arm",
        randomised=False,
        funding="NSFC 81471308; Dalian 2015F11GH094",
        cell_type="peripheral-blood mononuclear cells",
        route="intrathecal",
        doses=1,
    ),
    "Martinez2012": dict(
        rows=["Martinez2012_CD133"],
        citation="Martinez HR, et al. 2012 (case series).",
        design="single-arm",
        randomised=False,
        cell_type="CD133+ cells",
        route="intracerebral",
        doses=1,
    ),
    "Alkhazaali2024": dict(
        rows=["Alkhazaali2024"],
        citation="Alkhazaali-Ali Z, et al. Diseases 2024;12(5):99.",
        design="single-arm",
        randomised=False,
        cell_type="MSC, source not stated",
        route=None,
        doses=None,
    ),
    "ALSUMMIT": dict(
        rows=["ALSUMMIT_Neuronata_ph3"],
        citation="Corestemchemon press release on the ALSUMMIT phase 3 trial of lenzumestrocel "
        "(NEURONATA-R), 2024-2025; no peer-reviewed report found.",
        registration="NCT04745299",
        design="RCT",
        randomised=True,
        blinding="placebo-controlled (blinding not stated in the text read)",
        cell_type="MSC, bone marrow",
        route="intrathecal",
        doses=None,
    ),
}

# ---------------------------------------------------------------------- outcomes
# csv row -> outcome facts that the CSV does not encode as categories.
ENDPOINT: dict[str, str] = {
    "Oh2018_ALSFRSR_chg_4mo": "alsfrs_r_change",
    "Oh2018_ALSFRSR_chg_6mo": "alsfrs_r_change",
    "Oh2018_ALSFRSR_slopechange_a": "alsfrs_r_slope_change",
    "Oh2018_ALSFRSR_slopechange_b_6mo": "alsfrs_r_slope_change",
    "Cudkowicz2022_primary_responder_28wk": "alsfrs_responder",
    "Berry2019_ALSFRSR_slopechange_overall": "alsfrs_r_slope_change",
    "Petrou2016_ph12_IT_slope": "alsfrs_r_slope",
    "Petrou2016_ph2a_IMIT_slope": "alsfrs_r_slope",
    "Nefussy2010_GCSF": "alsfrs_r_slope",
    "Amirzagar2015_GCSF": "alsfrs_r_slope",
    "Duning2011_GCSF": "other",
    "Chio2011_GCSF": "alsfrs_r_slope",
    "Goutman2018_vsPROACT_24mo": "alsfrs_r_total",
    "Goutman2018_vsCeftriaxone_24mo": "alsfrs_r_total",
    "Glass2016_NSI566_ph2": "alsfrs_r_slope",
    "Barczewska2020_WJMSC_vsPROACT": "other",
    "Sharma_BMMNC_survival_37v20": "survival",
    "Sharma2021_BMMNC_10yr": "survival",
    "Martinez2009_CD133_motorcortex": "other",
    "GeijoBarrientos2020_IM_BMMC": "d50_index",
    "Sykova2017_phI_IIa": "other",
    "Siwek2020": "alsfrs_r_slope",
    "Karussis2021_phII": "alsfrs_r_slope",
    "Karussis2010": "other",
    "Prabhakar2012": "alsfrs_r_change",
    "Shamsaei2023_phI": "other",
    "Alkhazaali2024": "other",
    "ALSUMMIT_Neuronata_ph3": "cafs",
    "Barczewska2019_safety": "safety",
}
# Rows whose outcome column starts with "safety" are safety outcomes.
NO_DIRECTION = {"GeijoBarrientos2020_IM_BMMC"}  # D50 index: which way is better not read
PRIMARY = {
    "Oh2018_ALSFRSR_chg_4mo": True,
    "Oh2018_ALSFRSR_chg_6mo": True,
    "Cudkowicz2022_primary_responder_28wk": True,
    "Nefussy2010_GCSF": True,
}
ARM_LABELS: dict[str, tuple[str, str]] = {
    "Oh2018": ("MSC + riluzole", "riluzole alone"),
    "Cudkowicz2022": ("MSC-NTF", "placebo"),
    "Berry2019": ("MSC-NTF", "placebo"),
    "Nefussy2010": ("G-CSF", "placebo"),
    "Amirzagar2015": ("G-CSF", "placebo"),
    "Duning2011": ("G-CSF", "placebo"),
    "Goutman2018_vsPROACT_24mo": ("phase 1/2 participants", "matched PRO-ACT controls"),
    "Goutman2018_vsCeftriaxone_24mo": (
        "phase 1/2 participants",
        "matched ceftriaxone-trial participants",
    ),
    "Barczewska2020": ("WJ-MSC treated", "matched PRO-ACT reference patients"),
    "Sharma_conference": ("BM-MNC treated", "control"),
    "Sharma2021": ("BM-MNC + standard care", "standard care"),
    "Martinez2009": ("transplanted", "non-transplanted ALS controls"),
    "GeijoBarrientos2020": (
        "BMMC-injected tibialis anterior",
        "placebo-injected contralateral muscle",
    ),
}

FOLLOWUP_UNITS = {
    "28 weeks (~6.4)": (28, "weeks", "="),
    "~3.3 (100 days)": (100, "days", "="),
    "<=25": (25, "months", "<="),
    "up to 60": (60, "months", "<="),
    "12 (primary); up to 42": (12, "months", "="),
    "6 (CAFS subgroup result)": (6, "months", "="),
}
N_TEXT = {
    "23 (efficacy; 26 enrolled)": (23, "analysed for efficacy"),
    "8 analysed (15 eligible)": (8, "analysed"),
    "19 treated (20 enrolled)": (19, "treated"),
    "19 ALS": (19, "ALS patients"),
    "12 initial cohort; final cohort 6 (3 of whom were from the initial cohort)": (
        12,
        "initial cohort",
    ),
    "18 (9 high, 9 low dose)": (18, "treated"),
}
DOSES_TEXT = {
    "4 courses at 3-month intervals": 4,
    "3 (every two months)": 3,
    "2 (26 days apart)": 2,
    "3 over 3 months": 3,
}


def src(url: str | None, location: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if url:
        out["url"] = url
    out["location"] = location or "not stated"
    return out


def plain_number(text: str) -> tuple[str, float] | None:
    m = re.fullmatch(r"\s*(<=|>=|<|>|~)?\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not m:
        return None
    return (m.group(1) or "="), float(m.group(2))


def number(text: str, source: dict[str, str], **extra: Any) -> dict[str, Any] | None:
    if not text.strip():
        return None
    parsed = plain_number(text)
    if parsed is None:
        raise ValueError(f"not a plain number: {text!r}")
    rel, value = parsed
    out: dict[str, Any] = {"value": value}
    if rel != "=":
        out["relation"] = rel
    if text.strip().endswith("%"):
        out["unit"] = "%"
    out.update(extra)
    out["reported"] = text
    out["source"] = source
    return out


def followup(text: str, source: dict[str, str]) -> dict[str, Any] | None:
    if not text.strip():
        return None
    if text in FOLLOWUP_UNITS:
        value, unit, rel = FOLLOWUP_UNITS[text]
        out: dict[str, Any] = {"value": value}
        if rel != "=":
            out["relation"] = rel
        out.update(unit=unit, reported=text, source=source)
        return out
    return number(text, source, unit="months")


def count(text: str, source: dict[str, str]) -> dict[str, Any] | None:
    if not text.strip():
        return None
    if text in N_TEXT:
        value, label = N_TEXT[text]
        return {"value": value, "label": label, "reported": text, "source": source}
    return number(text, source)


def effect(text: str, row: dict[str, str], source: dict[str, str]) -> dict[str, Any] | None:
    m = re.fullmatch(r"(MD|OR|Delta) (-?\d+(?:\.\d+)?)(?: \(SE (\d+(?:\.\d+)?)\))?", text)
    if not m:
        return None
    measure = "MD" if m.group(1) in ("MD", "Delta") else m.group(1)
    out: dict[str, Any] = {"measure": measure, "reported": text}
    out["estimate"] = {"value": float(m.group(2)), "reported": text, "source": source}
    if m.group(3):
        out["se"] = {"value": float(m.group(3)), "reported": text, "source": source}
    if row["ci_low"]:
        out["ci_lower"] = number(row["ci_low"], source)
        out["ci_upper"] = number(row["ci_high"], source)
    return out


def significance(text: str) -> bool | None:
    t = text.strip().lower()
    if t.startswith("yes"):
        return True
    if t.startswith("no"):
        return False
    return None


def build() -> dict[str, Any]:
    with open(CSV, encoding="utf-8") as fh:
        rows = {r["study_id"]: r for r in csv.DictReader(fh)}
    assigned = [r for s in STUDIES.values() for r in s["rows"]]
    assert sorted(assigned) == sorted(rows), set(rows) ^ set(assigned)
    studies, outcomes = [], []
    for sid, info in STUDIES.items():
        first = rows[info["rows"][0]]
        row_src = src(first["source_url"], first["source_location"])
        study: dict[str, Any] = {"study_id": sid, "citation": info["citation"]}
        study["authors"] = first["authors"] or None
        study["year"] = first["year"] or None
        for key in ("doi", "url", "registration"):
            if info.get(key):
                study[key] = info[key]
        study["country"] = first["country"] or None
        study["design"] = info["design"]
        study["design_reported"] = first["design"] or None
        study["randomised"] = info["randomised"]
        study["randomised_reported"] = first["randomised"] or None
        study["blinding"] = info.get("blinding")
        study["funding"] = info.get("funding")
        study["cell_type"] = info["cell_type"]
        study["cell_type_reported"] = first["cell_type"] or None
        study["cell_source"] = first["cell_source"] or None
        study["route"] = info["route"]
        study["route_reported"] = first["route"] or None
        doses_text = first["doses"]
        # Doses and cells per dose describe the intervention: the study-level source.
        dsrc = src(*info["source"]) if info.get("source") else row_src
        if info.get("doses") is not None and doses_text:
            if doses_text in DOSES_TEXT:
                assert DOSES_TEXT[doses_text] == info["doses"], sid
                study["doses"] = {"value": info["doses"], "reported": doses_text, "source": dsrc}
            else:
                study["doses"] = number(doses_text, dsrc)
                assert study["doses"]["value"] == info["doses"], sid
        else:
            study["doses"] = None
        study["doses_reported"] = {"text": doses_text, "source": dsrc} if doses_text else None
        cpd = first["cells_per_dose"]
        study["cells_per_dose"] = {"text": cpd, "source": dsrc} if cpd else None
        # Longest follow-up among the study's rows.
        fus = [
            (
                followup(
                    rows[r]["followup_months"],
                    src(rows[r]["source_url"], rows[r]["source_location"]),
                )
            )
            for r in info["rows"]
        ]
        fus = [f for f in fus if f is not None]
        study["followup"] = max(fus, key=lambda f: _months(f)) if fus else None
        if info.get("enrolled"):
            value, text, url, loc = info["enrolled"]
            study["enrolled"] = {
                "value": value,
                "label": text,
                "reported": text,
                "source": src(url or first["source_url"], loc or first["source_location"]),
            }
        study["notes"] = first["notes"] or None
        study["source"] = (
            src(info["source"][0], info["source"][1]) if info.get("source") else row_src
        )
        studies.append(study)
        for rid in info["rows"]:
            outcomes.append(outcome(sid, rid, rows[rid]))
    return {
        "version": 1,
        "description": (
            "ALS cell-therapy trials: every row of shared/research/als_trials.csv as one "
            "outcome, grouped into studies, with the facts of als_trials.md. Every number "
            "carries its source; empty in the source stays empty (null)."
        ),
        "studies": studies,
        "outcomes": outcomes,
    }


def _months(f: dict[str, Any]) -> float:
    unit = f.get("unit", "months")
    return f["value"] * {"months": 1, "weeks": 7 / 30.4375, "days": 1 / 30.4375}[unit]


def outcome(sid: str, rid: str, row: dict[str, str]) -> dict[str, Any]:
    s = src(row["source_url"], row["source_location"])
    endpoint = ENDPOINT.get(rid)
    if rid.startswith("Cudkowicz2022_ALSFRSR_chg"):
        endpoint = "alsfrs_r_change"
    if endpoint is None:
        assert row["outcome"].lower().startswith("safety"), rid
        endpoint = "safety"
    out: dict[str, Any] = {
        "outcome_id": rid,
        "study_id": sid,
        "definition": row["outcome"],
        "endpoint": endpoint,
    }
    out["timepoint"] = followup(row["followup_months"], s)
    labels = ARM_LABELS.get(rid) or ARM_LABELS.get(sid) or ("treated", "control")
    arms: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    if rid.startswith("Cudkowicz2022_ALSFRSR_chg"):
        threshold = rid.rsplit("ge", 1)[1]
        out["subgroup"] = f"baseline ALSFRS-R >= {threshold} (post hoc threshold subgroup)"
        out["nesting_group"] = "Cudkowicz2022_week28_baseline_thresholds"
        out["primary"] = False
        for role, label, mean_col, se_col in (
            ("treatment", labels[0], "treat_mean", "treat_se"),
            ("control", labels[1], "ctrl_mean", "ctrl_se"),
        ):
            arms.append(
                {
                    "role": role,
                    "label": label,
                    "ls_mean": number(row[mean_col], s),
                    "ls_se": number(row[se_col], s),
                }
            )
        total = re.search(r"total n in MMRM analysis = (\d+)", row["notes"])
        assert total, rid
        other.append(
            {
                "value": float(total.group(1)),
                "label": "total n in the MMRM analysis",
                "reported": total.group(0),
                "source": s,
            }
        )
    elif rid == "Cudkowicz2022_primary_responder_28wk":
        n_src = src(CUD_T1, "Table 1, row N")
        for role, label, n_col, p_col in (
            ("treatment", labels[0], "n_treat", "treat_mean"),
            ("control", labels[1], "n_ctrl", "ctrl_mean"),
        ):
            arms.append(
                {
                    "role": role,
                    "label": label,
                    "n": count(row[n_col], n_src),
                    "percent": number(row[p_col], s, label="responders"),
                }
            )
        out["primary"] = True
    elif rid.startswith("Petrou2016"):
        pre, post = re.fullmatch(
            r"pre (-?[\d.]+); post (-?[\d.]+)(?: \(as printed\))?", row["treat_mean"]
        ).groups()
        arms.append(
            {
                "role": "treatment",
                "label": "MSC-NTF (pre vs post, own lead-in)",
                "n": count(row["n_treat"], s),
                "slope_before": {
                    "value": float(pre),
                    "unit": "points/month",
                    "reported": row["treat_mean"],
                    "source": s,
                },
                "slope_after": {
                    "value": float(post),
                    "unit": "points/month",
                    "reported": row["treat_mean"],
                    "source": s,
                },
            }
        )
    elif rid == "ALSUMMIT_Neuronata_ph3":
        arms += [
            {"role": "treatment", "label": "Group 1 (2 doses)"},
            {"role": "treatment", "label": "Group 2 (5 doses)"},
            {"role": "control", "label": "placebo"},
        ]
        for value, label, text, col in (
            (20.95, "CAFS, group 1 (post hoc slow-progressor subgroup)", row["treat_mean"], 1),
            (24.78, "CAFS, group 2 (post hoc slow-progressor subgroup)", row["treat_mean"], 1),
            (13.66, "CAFS, placebo, compared with group 1", row["ctrl_mean"], 2),
            (17.92, "CAFS, placebo, compared with group 2", row["ctrl_mean"], 2),
            (0.024, "p, group 1 vs placebo (bound)", row["p_value"], 3),
            (0.041, "p, group 2 vs placebo (bound)", row["p_value"], 3),
        ):
            assert f"{value:g}" in text, (value, text)
            item: dict[str, Any] = {"value": value}
            if col == 3:
                item["relation"] = "<"
            item.update(label=label, reported=text, source=s)
            other.append(item)
    else:
        two_arm = bool(row["n_ctrl"] or row["ctrl_mean"]) or sid in ARM_LABELS
        for role, label, prefix, n_col in (
            ("treatment", labels[0], "treat", "n_treat"),
            ("control", labels[1], "ctrl", "n_ctrl"),
        ):
            if role == "control" and not two_arm:
                continue
            arm: dict[str, Any] = {"role": role, "label": label, "n": count(row[n_col], s)}
            arm["mean"] = number(row[f"{prefix}_mean"], s)
            arm["sd"] = number(row[f"{prefix}_sd"], s)
            arm["se"] = number(row[f"{prefix}_se"], s)
            arms.append(arm)
    out["arms"] = arms
    eff = effect(row["effect_reported"], row, s) if row["effect_reported"] else None
    out["effect"] = eff
    if row["p_value"] and rid != "ALSUMMIT_Neuronata_ph3":
        out["p_value"] = number(row["p_value"], s)
    else:
        out["p_value"] = None
    if row["effect_reported"] and eff is None:
        out["result"] = {"text": row["effect_reported"], "source": s}
    else:
        out["result"] = None
    out["significant_reported"] = significance(row["significant_reported"])
    out["significant_reported_text"] = row["significant_reported"] or None
    if endpoint in ("safety", "other") or rid in NO_DIRECTION:
        out["direction"] = None
    else:
        out["direction"] = "higher_is_benefit"
    if rid in PRIMARY:
        out["primary"] = PRIMARY[rid]
    out["other_numbers"] = other
    out["notes"] = row["notes"] or None
    out["source"] = s
    return {k: v for k, v in out.items() if v is not None and v != []}


def _tidy(obj: Any) -> Any:
    """Whole numbers print as integers (31, not 31.0); everything else unchanged."""
    if isinstance(obj, dict):
        return {k: _tidy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tidy(v) for v in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    return obj


def main() -> None:
    data = build()
    header = (
        "# ALS cell-therapy evidence base, built by validation/evidence/build_als_trials_yaml.py\n"
        "# from shared/research/als_trials.csv and als_trials.md. See README.md beside this file.\n"
    )

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    text = yaml.dump(_tidy(data), Dumper=NoAliases, sort_keys=False, allow_unicode=True, width=100)
    OUT.write_text(header + text, encoding="utf-8")
    print(f"wrote {len(data['studies'])} studies and {len(data['outcomes'])} outcomes to {OUT}")


if __name__ == "__main__":
    main()

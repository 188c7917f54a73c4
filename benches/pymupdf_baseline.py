#!/usr/bin/env python3
"""The PyMuPDF way, for comparison with `disclose export` (issue: batch and speed).

usage: pymupdf_baseline.py FAMILY_DIR SUBJECT_ID [--attachments-only]

What a PyMuPDF pipeline does to produce a redacted bundle of one child's file, with only the
calls the issue names (search_for + add_redact_annot/apply_redactions + insert_textbox):

1. The search terms: every literal form of every other person in the family that a careful
   officer would type in (full name, given names, a family name not shared with the child,
   names in other name records, phone numbers as written and without spaces, identifiers,
   dates of birth as written in the export, and the lines and postcodes of addresses that are
   not the child's own home). Professionals are not searched for (in their role they are
   disclosed). No detection by role, no policy, no context.
2. The child's attachments: for each page, search_for every term, add_redact_annot, and
   apply_redactions.
3. The records on the child's file: their text written onto new pages with insert_textbox (a
   page at a time, shortened until it fits), then each of those pages searched and redacted the
   same way (without this the text pages would disclose everything).
4. Save with garbage collection and compression.

No signature, no index, no schedule, no verification. Prints the wall time of steps 2 to 4 and
of the attachment step alone. `--attachments-only` stops after step 2 (and its save).

Needs: pip install --no-deps pymupdf (AGPL; used here only as an external baseline).
"""
import json
import os
import sys
import time

import pymupdf


def terms_for(doc, subject):
    """The literal forms of everyone but the subject, as an officer would search for them."""
    persons = {p["id"]: p for p in doc["persons"]}
    me = persons[subject]
    my_family = {n.get("family", "") for n in me.get("names", [])}
    my_given = {g for n in me.get("names", []) for g in n.get("given", [])}
    my_homes = {r["address"] for r in me.get("residences", [])}
    terms = set()
    # Professionals acting in their role are disclosed, so they are not searched for.
    for p in (p for p in doc["persons"] if p["id"] != subject):
        for n in p.get("names", []):
            given = n.get("given", [])
            fam = n.get("family", "")
            full = " ".join(given + [fam]).strip()
            if full:
                terms.add(full)
            for g in given:
                if g not in my_given:
                    terms.add(g)
            if fam and fam not in my_family:
                terms.add(fam)
        for c in p.get("contact_points", []):
            v = c.get("value", "")
            terms.add(v)
            terms.add(v.replace(" ", ""))
        for i in p.get("identifiers", []):
            terms.add(i.get("value", ""))
        dob = (p.get("date_of_birth") or {}).get("date")
        if dob:
            terms.add(dob)
        for r in p.get("residences", []):
            if r["address"] not in my_homes:
                addr = next((a for a in doc["addresses"] if a["id"] == r["address"]), None)
                if addr:
                    terms.update(addr.get("lines", []))
                    terms.add(addr.get("postcode", ""))
    return sorted(t for t in terms if len(t) >= 2)


def redact_page(page, terms):
    hits = 0
    for t in terms:
        for q in page.search_for(t):
            page.add_redact_annot(q, fill=(0, 0, 0))
            hits += 1
    if hits:
        page.apply_redactions()
    return hits


def record_text(r, subject):
    parts = [r.get("title", "")]
    for s in r.get("sections", []):
        scope = s.get("scope")
        if isinstance(scope, dict) and subject not in scope.get("children", [subject]):
            continue  # a section about another child is not on this file
        if s.get("heading"):
            parts.append(s["heading"])
        if s.get("body"):
            parts.append(s["body"])
    return "\n\n".join(parts)


def write_text_pages(out, text):
    """insert_textbox a page at a time; a text that does not fit is cut at a line and continued."""
    rect = pymupdf.Rect(56, 56, 539, 786)
    pages = []
    while text:
        page = out.new_page()
        pages.append(page.number)
        piece = text
        while page.insert_textbox(rect, piece, fontsize=10.5) < 0:
            cut = piece.rfind("\n", 0, len(piece) * 3 // 4)
            if cut <= 0:
                cut = piece.rfind(" ", 0, len(piece) * 3 // 4)
            if cut <= 0:
                cut = len(piece) * 3 // 4
            piece = piece[:cut]
        text = text[len(piece):].lstrip()
    return pages


def main():
    fam_dir, subject = sys.argv[1], sys.argv[2]
    only_attachments = "--attachments-only" in sys.argv[3:]
    doc = json.load(open(os.path.join(fam_dir, "export.json")))
    terms = terms_for(doc, subject)
    t0 = time.time()
    out = pymupdf.open()
    att_pages = att_hits = 0
    for a in doc["attachments"]:
        if subject not in a.get("on_files", []):
            continue
        src = pymupdf.open(os.path.join(fam_dir, a["file"]))
        for page in src:
            att_hits += redact_page(page, terms)
            att_pages += 1
        out.insert_pdf(src)
    t_att = time.time() - t0
    text_pages = text_hits = 0
    if not only_attachments:
        for r in doc["records"]:
            if not any(m["person"] == subject and m.get("on_file") for m in r["membership"]):
                continue
            for n in write_text_pages(out, record_text(r, subject)):
                text_hits += redact_page(out[n], terms)
                text_pages += 1
    out.save(os.path.join(fam_dir, "pymupdf-baseline.pdf"), garbage=3, deflate=True)
    dt = time.time() - t0
    print(
        f"pymupdf baseline: {len(terms)} search terms; {att_pages} attachment pages ({att_hits} boxes) "
        f"in {t_att:.2f} s; {text_pages} text pages ({text_hits} boxes); total {dt:.2f} s"
    )


if __name__ == "__main__":
    main()

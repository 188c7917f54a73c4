#!/usr/bin/env python3
"""The PyMuPDF way, for comparison with `disclose export` (issue: batch and speed).

usage: pymupdf_baseline.py FAMILY_DIR SUBJECT_ID

Does only what a PyMuPDF pipeline would do for one child's file: for each attachment on the file,
search_for every third-party name and phone number of the family, add_redact_annot and
apply_redactions, save; and write every record's text on new pages with insert_textbox. No
detection by role, no policy, no signature, no index. Prints the wall time.

Needs: pip install --no-deps pymupdf (AGPL; used here only as an external baseline).
"""
import json
import os
import sys
import time

import pymupdf


def main():
    fam_dir, subject = sys.argv[1], sys.argv[2]
    doc = json.load(open(os.path.join(fam_dir, "export.json")))
    # Everyone who is not the subject or a parent: the terms a PyMuPDF user would search for.
    terms = []
    for p in doc["persons"]:
        if p["id"] == subject or "parent" in p.get("roles", []):
            continue
        for n in p["names"]:
            terms.append(" ".join(n["given"][:1] + [n.get("family", "")]).strip())
        for c in p.get("contact_points", []):
            terms.append(c["value"])
    t0 = time.time()
    out = pymupdf.open()
    pages_redacted = 0
    for a in doc["attachments"]:
        if subject not in a.get("on_files", []):
            continue
        src = pymupdf.open(os.path.join(fam_dir, a["file"]))
        for page in src:
            for t in terms:
                for q in page.search_for(t):
                    page.add_redact_annot(q, fill=(0, 0, 0))
            page.apply_redactions()
            pages_redacted += 1
        out.insert_pdf(src)
    text_pages = 0
    for r in doc["records"]:
        if not any(m["person"] == subject and m["on_file"] for m in r["membership"]):
            continue
        text = r["title"] + "\n\n" + "\n\n".join(s.get("body", "") for s in r["sections"])
        page = out.new_page()
        rect = pymupdf.Rect(56, 56, 539, 786)
        while page.insert_textbox(rect, text, fontsize=10.5) < 0:
            # Too long for one page: split roughly in half and continue on a new page.
            text = text[len(text) // 2:]
            page = out.new_page()
        text_pages += 1
    out.save(os.path.join(fam_dir, "pymupdf-baseline.pdf"), garbage=3, deflate=True)
    dt = time.time() - t0
    print(f"pymupdf baseline: {pages_redacted} attachment pages redacted, {text_pages} record pages, {dt:.2f} s")


if __name__ == "__main__":
    main()

"""Where the shipped files live: the checkout's top-level ircd.conf, skills/ and corpus/."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
IRCD_TEMPLATE = PROJECT_ROOT / "ircd.conf"
SKILLS_DIR = PROJECT_ROOT / "skills"
CORPUS_DIR = PROJECT_ROOT / "corpus"
PROFILES_DIR = PACKAGE_DIR / "fleet" / "profiles"

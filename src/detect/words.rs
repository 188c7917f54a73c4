//! Word lists the recognizers consult. A name that is also an ordinary English word ("Rose",
//! "Grace", "Mark", "Bill") is matched only where it is used as a name; this list says which
//! names need that care. Other single-word names only need a capital letter.

/// Lower-case words that are also given names or family names.
pub const COMMON_WORD_NAMES: &[&str] = &[
    "ace", "amber", "angel", "april", "archer", "art", "ash", "august", "autumn", "baker", "bank", "banks", "barber",
    "bay", "bell", "berry", "best", "bill", "bird", "black", "blake", "bloom", "blue", "bond", "bow", "brook",
    "brooks", "brown", "bush", "butcher", "butler", "cash", "chance", "chase", "cherry", "clay", "cliff", "coal",
    "cook", "cooper", "crystal", "dale", "dawn", "day", "dean", "dell", "diamond", "dove", "drake", "dusty", "earl",
    "east", "eve", "faith", "field", "fields", "fish", "fisher", "fletcher", "ford", "forest", "fox", "frank", "free",
    "gale", "gay", "gem", "glen", "gold", "good", "grace", "grant", "gray", "green", "grey", "guy", "hall", "hardy",
    "harmony", "hart", "hazel", "heath", "heather", "hill", "holly", "honey", "hope", "hunt", "hunter", "iris", "ivy",
    "jack", "jade", "jay", "jewel", "joy", "june", "just", "king", "knight", "lake", "lane", "lark", "lee", "lily",
    "long", "love", "lucky", "major", "march", "mark", "marsh", "mason", "may", "mercy", "miles", "miller", "moon",
    "moore", "moss", "nash", "new", "nick", "north", "oak", "olive", "page", "parker", "pat", "patience", "peach",
    "pearl", "penny", "pepper", "pierce", "pike", "piper", "poppy", "porter", "price", "pryce", "queen", "rain", "ray",
    "reed", "rich", "river", "rob", "robin", "rock", "rose", "row", "rowe", "ruby", "rush", "rusty", "sage", "salmon",
    "sandy", "savage", "scott", "shepherd", "sky", "skye", "small", "smith", "snow", "sole", "south", "sparrow",
    "spring", "stag", "star", "steel", "stone", "storm", "strong", "sue", "summer", "sunny", "swan", "sweet", "taylor",
    "terry", "thorn", "tiger", "tom", "trinity", "true", "tucker", "turner", "violet", "wade", "walker", "ward",
    "west", "white", "will", "willow", "winter", "wolf", "wood", "woods", "wren", "young",
];

/// Whether a (lower-case) name form is also an ordinary word, or so short that it is one in
/// other contexts ("Ty", "Jo"): such forms need name-like use to match.
pub fn needs_care(lower: &str) -> bool {
    lower.chars().count() <= 3 || COMMON_WORD_NAMES.binary_search(&lower).is_ok()
}

/// Titles written before a family name (or an initial and a family name).
pub const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "master", "mstr", "prof", "rev", "sir", "dame", "cllr", "dc", "ds", "pc",
    "di", "dci", "sgt", "insp", "nurse", "sister",
];

/// Words that, after a capitalised word at the start of a sentence, show it is a person acting
/// ("Rose said", "Grace was seen").
pub const PERSON_VERBS: &[&str] = &[
    "said",
    "says",
    "told",
    "tells",
    "was",
    "is",
    "has",
    "had",
    "have",
    "called",
    "calls",
    "rang",
    "rings",
    "reported",
    "reports",
    "asked",
    "asks",
    "explained",
    "explains",
    "described",
    "describes",
    "stated",
    "states",
    "came",
    "comes",
    "went",
    "goes",
    "wants",
    "wanted",
    "would",
    "will",
    "did",
    "does",
    "disclosed",
    "discloses",
    "attended",
    "attends",
    "agreed",
    "agrees",
    "denied",
    "denies",
    "shared",
    "visited",
    "visits",
    "lives",
    "lived",
    "and",
    "spoke",
    "speaks",
    "confirmed",
    "confirms",
    "mentioned",
    "feels",
    "felt",
    "thinks",
    "thought",
    "seemed",
    "seems",
    "appeared",
    "appears",
    "cried",
    "shouted",
    "hit",
    "pushed",
    "left",
    "arrived",
    "refused",
    "refuses",
    "can",
    "could",
    "should",
    "may",
    "might",
    "must",
    "also",
    "then",
    "who",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_for_binary_search() {
        let mut v = COMMON_WORD_NAMES.to_vec();
        v.sort();
        assert_eq!(v, COMMON_WORD_NAMES);
        assert!(needs_care("rose"));
        assert!(needs_care("ty"));
        assert!(!needs_care("aldous"));
    }
}

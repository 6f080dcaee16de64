"""The built-in question bank: genuine questions the fallback quiz generator can rely on.

Everything here is data. Each entry carries its answer key and a difficulty, so the
generator (`ml.quizgen`) can pick by difficulty and type without an LLM, and grading
(`ml.grading`) can check answers. Answers are written so that their normalized forms
are unambiguous: multiple-choice options differ after normalization, LIST items are
short canonical words or numbers, and OPEN questions list the usual spellings of the
answer (plus key terms where a phrase in a longer answer is enough).

`GENERIC_TEMPLATES` are topic-independent questions about how to study, with a
`{topic}` placeholder; they serve topics the bank does not know and fill a quiz when a
topic's bank has fewer questions than asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.quiz import TRUE_FALSE_OPTIONS, Difficulty, QuestionType

BEG, MID, ADV = Difficulty.BEGINNER, Difficulty.INTERMEDIATE, Difficulty.ADVANCED


@dataclass(frozen=True)
class BankQuestion:
    """A question as `ml.quiz.QuizQuestion` minus its number, plus its difficulty.

    For MULTIPLE_CHOICE, `options` holds the correct option among the four; the generator
    shuffles them, so their order here means nothing.
    """

    text: str
    type: QuestionType
    skill: str
    difficulty: Difficulty
    expected: tuple[str, ...]
    options: tuple[str, ...] = ()
    key_terms: tuple[str, ...] = ()


def _mc(difficulty: Difficulty, skill: str, text: str, correct: str, *wrong: str) -> BankQuestion:
    if len(wrong) != 3:
        raise ValueError(f"{text!r}: a multiple-choice question needs exactly 3 wrong options")
    return BankQuestion(
        text, QuestionType.MULTIPLE_CHOICE, skill, difficulty, (correct,), (correct, *wrong)
    )


def _tf(difficulty: Difficulty, skill: str, text: str, answer: bool) -> BankQuestion:
    expected = TRUE_FALSE_OPTIONS[0] if answer else TRUE_FALSE_OPTIONS[1]
    return BankQuestion(
        text, QuestionType.TRUE_FALSE, skill, difficulty, (expected,), TRUE_FALSE_OPTIONS
    )


def _open(
    difficulty: Difficulty,
    skill: str,
    text: str,
    accepted: tuple[str, ...],
    key_terms: tuple[str, ...] = (),
) -> BankQuestion:
    return BankQuestion(text, QuestionType.OPEN, skill, difficulty, accepted, (), key_terms)


def _list(difficulty: Difficulty, skill: str, text: str, items: tuple[str, ...]) -> BankQuestion:
    return BankQuestion(text, QuestionType.LIST, skill, difficulty, items)


PYTHON: tuple[BankQuestion, ...] = (
    _mc(
        BEG,
        "data types",
        'What is the type of the value returned by `len("hello")`?',
        "int",
        "str",
        "float",
        "bool",
    ),
    _mc(
        BEG,
        "data structures",
        "Which of these built-in Python collections is immutable?",
        "tuple",
        "list",
        "dict",
        "set",
    ),
    _tf(
        BEG,
        "syntax",
        "In Python, indentation is part of the syntax: it decides which statements belong to a block.",
        True,
    ),
    _tf(
        BEG,
        "data structures",
        "A Python list can hold values of different types at the same time, such as an int and a str.",
        True,
    ),
    _open(BEG, "functions", "Which Python keyword starts the definition of a function?", ("def",)),
    _list(BEG, "loops", "List the numbers contained in `list(range(1, 5))`.", ("1", "2", "3", "4")),
    _mc(
        MID,
        "data structures",
        "What does the expression `{1, 2, 2, 3}` evaluate to?",
        "{1, 2, 3}",
        "{1, 2, 2, 3}",
        "[1, 2, 3]",
        "(1, 2, 3)",
    ),
    _mc(MID, "strings", 'What is the value of `"python"[1:4]`?', "yth", "pyt", "ytho", "pyth"),
    _tf(
        MID,
        "functions",
        "A default argument value, as in `def f(items=[])`, is evaluated once when the function is defined, not on every call.",
        True,
    ),
    _tf(MID, "operators", "In Python 3, `5 / 2` evaluates to the integer 2.", False),
    _open(
        MID,
        "comprehensions",
        "What is the value of `[x * x for x in range(4)]`?",
        ("[0, 1, 4, 9]", "0, 1, 4, 9"),
    ),
    _open(
        MID,
        "functions",
        "A function written with the `lambda` keyword has no name of its own. What kind of function is it called?",
        (
            "anonymous function",
            "an anonymous function",
            "lambda function",
            "lambda expression",
            "lambda",
        ),
        ("anonymous",),
    ),
    _list(
        MID,
        "exceptions",
        "Name the four clause keywords that can appear in a `try` statement, `try` itself included.",
        ("try", "except", "else", "finally"),
    ),
    _mc(
        ADV,
        "generators",
        "What does calling a function whose body contains `yield` return?",
        "A generator object",
        "The first yielded value",
        "None",
        "A list of all the yielded values",
    ),
    _mc(
        ADV,
        "scoping",
        "Which keyword lets a nested function assign to a variable of its enclosing function?",
        "nonlocal",
        "global",
        "outer",
        "static",
    ),
    _tf(
        ADV,
        "concurrency",
        "In the standard CPython build, the global interpreter lock (GIL) lets only one thread execute Python bytecode at a time.",
        True,
    ),
    _tf(
        ADV,
        "object model",
        "For any two objects, `a is b` and `a == b` always give the same result.",
        False,
    ),
    _open(
        ADV,
        "object model",
        "Which special method does Python call to get an object's readable string, for example in `str(obj)` or `print(obj)`?",
        ("__str__", "__str__()", "object.__str__"),
    ),
    _list(
        ADV,
        "loops",
        "List the values printed by `for i in range(10, 0, -3): print(i)`.",
        ("10", "7", "4", "1"),
    ),
)

SQL: tuple[BankQuestion, ...] = (
    _mc(
        BEG,
        "querying",
        "Which SQL statement reads rows from a table?",
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
    ),
    _mc(
        BEG,
        "sorting",
        "Which clause sorts the rows of a query's result?",
        "ORDER BY",
        "SORT BY",
        "GROUP BY",
        "ARRANGE BY",
    ),
    _tf(BEG, "null handling", "In SQL, the comparison `NULL = NULL` evaluates to true.", False),
    _tf(BEG, "keys", "In standard SQL, a primary key column cannot contain NULL values.", True),
    _open(
        BEG,
        "querying",
        "Which keyword, written right after SELECT, removes duplicate rows from a query's result?",
        ("DISTINCT", "SELECT DISTINCT"),
    ),
    _open(
        BEG,
        "keys",
        "What is a column called that refers to the primary key of another table?",
        ("foreign key", "a foreign key", "FK"),
        ("foreign", "key"),
    ),
    _list(
        BEG,
        "data manipulation",
        "Name the four SQL statements for reading, adding, changing and removing rows.",
        ("SELECT", "INSERT", "UPDATE", "DELETE"),
    ),
    _mc(
        MID,
        "aggregation",
        "Which clause filters groups after aggregation, for example keeping only groups with `COUNT(*) > 5`?",
        "HAVING",
        "WHERE",
        "ORDER BY",
        "DISTINCT",
    ),
    _mc(
        MID,
        "joins",
        "Which join returns every row of the left table, with NULLs where the right table has no match?",
        "LEFT JOIN",
        "INNER JOIN",
        "RIGHT JOIN",
        "CROSS JOIN",
    ),
    _tf(
        MID,
        "aggregation",
        "`COUNT(column)` counts only the rows in which that column is not NULL.",
        True,
    ),
    _tf(
        MID,
        "joins",
        "An INNER JOIN can return a left-table row that has no matching row in the right table.",
        False,
    ),
    _open(
        MID,
        "aggregation",
        "Table `orders` has 10 rows, and 3 of them have a NULL `discount`. What does `SELECT COUNT(discount) FROM orders` return?",
        ("7",),
    ),
    _list(
        MID,
        "joins",
        "Table A has a column `id` with the values 1, 2, 3; table B has a column `id` with 2, 3, 4. List the ids returned by `SELECT A.id FROM A JOIN B ON A.id = B.id`.",
        ("2", "3"),
    ),
    _mc(
        ADV,
        "window functions",
        "Scores 90, 90 and 80 are ranked from highest to lowest with `RANK()`. Which rank does the 80 get?",
        "3",
        "2",
        "1",
        "4",
    ),
    _mc(
        ADV,
        "transactions",
        "Which ACID property guarantees that a committed transaction survives a crash?",
        "Durability",
        "Atomicity",
        "Consistency",
        "Isolation",
    ),
    _tf(
        ADV,
        "indexes",
        "Adding an index to a table can slow down INSERT statements on it, because the index must be updated too.",
        True,
    ),
    _tf(
        ADV,
        "set operations",
        "`UNION` keeps duplicate rows, whereas `UNION ALL` removes them.",
        False,
    ),
    _open(
        ADV,
        "window functions",
        "Which window function ranks rows without gaps after ties, giving 1, 1, 2 for the scores 90, 90, 80?",
        ("DENSE_RANK", "DENSE_RANK()"),
    ),
    _list(
        ADV,
        "transactions",
        "Name the four transaction isolation levels defined by the SQL standard.",
        ("READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"),
    ),
)

STATISTICS: tuple[BankQuestion, ...] = (
    _mc(BEG, "central tendency", "What is the median of 2, 8, 4, 10, 1?", "4", "5", "8", "2"),
    _mc(BEG, "central tendency", "What is the mode of 2, 4, 4, 5, 7, 7, 7?", "7", "4", "5", "2"),
    _tf(BEG, "probability", "A probability is always a number between 0 and 1, inclusive.", True),
    _tf(
        BEG,
        "central tendency",
        "The mean is less affected by extreme outliers than the median.",
        False,
    ),
    _open(BEG, "central tendency", "What is the mean of 4, 8, 6 and 2?", ("5", "5.0")),
    _list(
        BEG,
        "central tendency",
        "Name the three common measures of central tendency.",
        ("mean", "median", "mode"),
    ),
    _mc(
        MID,
        "probability",
        "Two fair six-sided dice are rolled. What is the probability that their sum is 7?",
        "1/6",
        "1/12",
        "7/36",
        "1/36",
    ),
    _mc(
        MID,
        "dispersion",
        "The variance of a data set is 16. What is its standard deviation?",
        "4",
        "8",
        "16",
        "256",
    ),
    _tf(
        MID,
        "correlation",
        "A strong correlation between two variables proves that one causes the other.",
        False,
    ),
    _tf(
        MID,
        "distributions",
        "In a normal distribution, about 95% of values lie within two standard deviations of the mean.",
        True,
    ),
    _open(
        MID,
        "probability",
        "A fair coin is tossed twice. What is the probability of two heads? Answer as a fraction or a decimal.",
        ("1/4", "0.25", "25%"),
    ),
    _list(
        MID,
        "dispersion",
        "The interquartile range is the difference between which two quartiles? Answer with their short names, such as Q2.",
        ("Q1", "Q3"),
    ),
    _mc(
        ADV,
        "hypothesis testing",
        "What does a p-value of 0.03 mean?",
        "If the null hypothesis were true, data at least this extreme would occur about 3% of the time",
        "There is a 3% chance that the null hypothesis is true",
        "There is a 97% chance that the alternative hypothesis is true",
        "The effect being measured is 0.03 units in size",
    ),
    _mc(
        ADV,
        "probability",
        "A disease affects 1% of people. A test detects it in 90% of those who have it and wrongly flags 10% of those who do not. About how likely is it that someone who tests positive has the disease?",
        "About 8%",
        "About 90%",
        "About 50%",
        "About 1%",
    ),
    _tf(
        ADV,
        "hypothesis testing",
        "A Type I error is rejecting a null hypothesis that is actually true.",
        True,
    ),
    _tf(
        ADV,
        "sampling",
        "Increasing the sample size makes the standard error of the mean larger.",
        False,
    ),
    _open(
        ADV,
        "sampling",
        "Which theorem says that the distribution of sample means approaches a normal distribution as the sample size grows, whatever the shape of the population (given a finite variance)?",
        ("central limit theorem", "the central limit theorem", "CLT"),
        ("central", "limit", "theorem"),
    ),
    _list(
        ADV,
        "hypothesis testing",
        "Name the two kinds of error in hypothesis testing, in the form 'Type ...' with Roman numerals.",
        ("Type I", "Type II"),
    ),
)

MACHINE_LEARNING: tuple[BankQuestion, ...] = (
    _mc(
        BEG,
        "supervised learning",
        "Predicting a house's price from its size and location is an example of which kind of task?",
        "Regression",
        "Classification",
        "Clustering",
        "Dimensionality reduction",
    ),
    _mc(
        BEG,
        "unsupervised learning",
        "Which of these is an unsupervised learning algorithm?",
        "k-means clustering",
        "linear regression",
        "logistic regression",
        "decision tree classifier",
    ),
    _tf(
        BEG, "model evaluation", "A model should be evaluated on data it was not trained on.", True
    ),
    _tf(
        BEG,
        "supervised learning",
        "Classification predicts a continuous numeric value, such as a temperature.",
        False,
    ),
    _open(
        BEG,
        "overfitting",
        "What is it called when a model fits its training data very closely, noise included, but performs poorly on new data?",
        (
            "overfitting",
            "over-fitting",
            "overfit",
            "an overfit model",
            "overfitted",
            "overfitting the training data",
        ),
        ("overfitting",),
    ),
    _list(
        BEG,
        "data splitting",
        "Name the three subsets a data set is commonly split into to build and evaluate a model, one word each.",
        ("training", "validation", "test"),
    ),
    _list(
        BEG,
        "learning paradigms",
        "Name the three main kinds of machine learning, one word each.",
        ("supervised", "unsupervised", "reinforcement"),
    ),
    _mc(
        MID,
        "evaluation metrics",
        "A model predicts 80 positives, of which 60 are truly positive. What is its precision?",
        "0.75",
        "0.6",
        "0.8",
        "0.25",
    ),
    _mc(
        MID,
        "overfitting",
        "Which of these is most directly aimed at reducing overfitting?",
        "Adding L2 regularization",
        "Training for many more epochs on the same data",
        "Increasing the number of model parameters",
        "Removing the validation set",
    ),
    _tf(
        MID,
        "model evaluation",
        "In k-fold cross-validation, every example is used for validation exactly once.",
        True,
    ),
    _tf(
        MID,
        "feature scaling",
        "Decision trees usually need their features standardized before training.",
        False,
    ),
    _open(
        MID,
        "evaluation metrics",
        "A classifier has precision 0.5 and recall 1.0. What is its F1 score? Answer as a fraction or a decimal.",
        ("2/3", "0.67", "0.667", "0.6667"),
    ),
    _list(
        MID,
        "evaluation metrics",
        "Name the four cells of a binary confusion matrix by their abbreviations, such as TP.",
        ("TP", "FP", "TN", "FN"),
    ),
    _mc(
        ADV,
        "bias-variance",
        "A model has a high error on both its training data and its validation data. What is the most likely problem?",
        "High bias (underfitting)",
        "High variance (overfitting)",
        "The test set is too large",
        "Labels leaking into the features",
    ),
    _mc(
        ADV,
        "optimization",
        "What is likely to happen in gradient descent if the learning rate is much too large?",
        "The loss oscillates or diverges instead of decreasing",
        "Training converges faster to a better minimum",
        "The model stops using its bias terms",
        "The gradients become exactly zero",
    ),
    _tf(
        ADV,
        "data leakage",
        "Fitting a feature scaler on the whole data set before splitting off the test set can leak information into the evaluation.",
        True,
    ),
    _tf(
        ADV,
        "evaluation metrics",
        "Accuracy is a reliable metric on a data set in which 99% of the examples belong to one class.",
        False,
    ),
    _open(
        ADV,
        "regularization",
        "Which regularization penalty, added to a linear model's loss, tends to drive some weights to exactly zero?",
        ("L1", "L1 regularization", "L1 penalty", "L1 norm", "lasso", "lasso regression"),
    ),
    _list(
        ADV,
        "neural networks",
        "Name the three gates of a standard LSTM cell, giving just the word before 'gate'.",
        ("input", "forget", "output"),
    ),
)

ALGEBRA: tuple[BankQuestion, ...] = (
    _mc(BEG, "linear equations", "Solve for x: 2x + 3 = 11.", "4", "7", "5.5", "8"),
    _mc(BEG, "order of operations", "What is the value of 2 + 3 * 4?", "14", "20", "24", "9"),
    _tf(BEG, "exponents", "x^2 · x^3 = x^5 for every real number x.", True),
    _tf(BEG, "expressions", "(a + b)^2 = a^2 + b^2 for all real numbers a and b.", False),
    _open(BEG, "linear equations", "Solve for x: 5x - 7 = 18.", ("5", "x = 5")),
    _list(BEG, "quadratic equations", "Solve x^2 = 9 and list both solutions.", ("3", "-3")),
    _mc(
        MID,
        "linear functions",
        "What is the slope of the line through the points (1, 2) and (3, 8)?",
        "3",
        "6",
        "1/3",
        "2",
    ),
    _mc(
        MID,
        "factoring",
        "Which is the factorization of x^2 - 5x + 6?",
        "(x - 2)(x - 3)",
        "(x + 2)(x + 3)",
        "(x - 1)(x - 6)",
        "(x + 1)(x - 6)",
    ),
    _tf(MID, "linear functions", "The graph of y = 3x - 2 crosses the y-axis at y = -2.", True),
    _tf(MID, "exponents", "(2^3)^2 = 2^9.", False),
    _open(
        MID,
        "systems of equations",
        "Solve the system x + y = 10 and x - y = 4. What is x?",
        ("7", "x = 7"),
    ),
    _open(
        MID,
        "quadratic equations",
        "What is the name of the formula x = (-b ± √(b^2 - 4ac)) / (2a) for solving ax^2 + bx + c = 0?",
        ("quadratic formula", "the quadratic formula"),
        ("quadratic", "formula"),
    ),
    _list(
        MID, "quadratic equations", "Solve x^2 + x - 12 = 0 and list both solutions.", ("-4", "3")
    ),
    _mc(
        ADV,
        "quadratic equations",
        "What is the discriminant of 2x^2 + 3x - 2 = 0?",
        "25",
        "-7",
        "1",
        "17",
    ),
    _mc(ADV, "logarithms", "What is log base 2 of 32?", "5", "16", "6", "4"),
    _tf(
        ADV,
        "quadratic equations",
        "A quadratic equation with real coefficients and a negative discriminant has no real solutions.",
        True,
    ),
    _tf(
        ADV,
        "inequalities",
        "Multiplying both sides of an inequality by a negative number keeps the direction of the inequality.",
        False,
    ),
    _open(ADV, "functions", "If f(x) = 2x + 1 and g(x) = x^2, what is f(g(3))?", ("19",)),
    _list(ADV, "absolute value", "Solve |x - 2| = 5 and list both solutions.", ("7", "-3")),
)

BANK: dict[str, tuple[BankQuestion, ...]] = {
    "python": PYTHON,
    "sql": SQL,
    "statistics": STATISTICS,
    "machine learning": MACHINE_LEARNING,
    "algebra": ALGEBRA,
}

# Topic spellings that mean a bank, compared after `ml.quizgen.topic_words` drops filler
# words ("intro to", "basics", "programming", version numbers ...) from both sides.
# Deliberately absent: "linear algebra", "boolean algebra" (the algebra bank is
# elementary algebra) and "probability" alone (the statistics bank only touches it).
TOPIC_ALIASES: dict[str, tuple[str, ...]] = {
    "python": ("python", "python3", "py", "python language", "python programming"),
    "sql": (
        "sql",
        "sql queries",
        "sql query",
        "sql querying",
        "structured query language",
        "sql databases",
        "relational databases",
        "relational database",
        "postgresql",
        "postgres",
        "mysql",
        "sqlite",
    ),
    "statistics": (
        "statistics",
        "stats",
        "stat",
        "statistical analysis",
        "descriptive statistics",
        "inferential statistics",
        "elementary statistics",
        "probability and statistics",
        "statistics and probability",
    ),
    "machine learning": (
        "machine learning",
        "ml",
        "machinelearning",
        "machine learning algorithms",
        "machine learning models",
    ),
    "algebra": (
        "algebra",
        "elementary algebra",
        "school algebra",
        "high school algebra",
        "college algebra",
        "algebra i",
        "algebra ii",
        "pre algebra",
        "prealgebra",
    ),
}

# Study-method questions for any topic. Each statement is true or false according to
# well-replicated learning research (spacing, retrieval practice, the illusion of
# fluency, low utility of highlighting), so their keys are not a matter of opinion.
# The questions avoid naming a technique another template asks for.
GENERIC_TEMPLATES: tuple[BankQuestion, ...] = (
    _tf(
        BEG,
        "spaced practice",
        "Spreading your study of {topic} over several shorter sessions on different days usually gives better long-term retention than one long cramming session.",
        True,
    ),
    _tf(
        BEG,
        "retrieval practice",
        "Re-reading your notes on {topic} is usually a more effective way to remember them than testing yourself with practice questions.",
        False,
    ),
    _tf(
        BEG,
        "memory consolidation",
        "Getting enough sleep after studying {topic} helps your memory consolidate what you learned.",
        True,
    ),
    _tf(
        MID,
        "metacognition",
        "Material on {topic} looking familiar when you re-read it is a reliable sign that you could recall it without help.",
        False,
    ),
    _tf(
        MID,
        "self-explanation",
        "Explaining {topic} in your own words, without looking at your notes, is a good way to find gaps in your understanding.",
        True,
    ),
    _tf(
        MID,
        "focus",
        "Checking messages while studying {topic} has no effect on how much you learn.",
        False,
    ),
    _tf(
        ADV,
        "study techniques",
        "Highlighting passages about {topic} is, on its own, one of the most effective study techniques.",
        False,
    ),
    _tf(
        ADV,
        "interleaving",
        "Mixing different kinds of practice problems on {topic} in one session often improves long-term learning, even though it can feel harder than practising one kind at a time.",
        True,
    ),
    _mc(
        BEG,
        "retrieval practice",
        "Which of these study activities on {topic} is most effective for long-term retention?",
        "Answering practice questions from memory",
        "Re-reading the same notes several times",
        "Highlighting key sentences in the text",
        "Copying notes out word for word",
    ),
    _mc(
        BEG,
        "goal setting",
        "Which study goal for {topic} is the most specific and measurable?",
        "Answer 20 practice questions on {topic} by Friday",
        "Get better at {topic}",
        "Understand {topic} more deeply",
        "Spend more time thinking about {topic}",
    ),
    _mc(
        MID,
        "spaced practice",
        "You have five hours to prepare for an exam on {topic} in one week. Which plan is likely to give the best long-term retention?",
        "One hour a day on five different days",
        "All five hours on the night before the exam",
        "All five hours on the first day, with no review afterwards",
        "All five hours in one sitting, with the lectures played at double speed",
    ),
    _mc(
        MID,
        "learning from mistakes",
        "You got a practice question on {topic} wrong. What is the most useful next step?",
        "Work out why your answer was wrong, then try a similar question",
        "Memorise the correct option and move on",
        "Skip questions of that kind from now on",
        "Re-read the question until it feels familiar",
    ),
    _mc(
        ADV,
        "elaboration",
        "Which of these is an example of elaborative interrogation while studying {topic}?",
        "Asking yourself why each fact about {topic} is true and how it connects to what you already know",
        "Reading the chapter on {topic} aloud",
        "Copying out the chapter summary",
        "Highlighting every definition",
    ),
    _mc(
        ADV,
        "metacognition",
        "What is the most reliable way to check whether you really understand a concept in {topic}?",
        "Explain or apply it without notes, then check against a trusted source",
        "Judge whether it feels familiar when you read it",
        "Count how many times you have read about it",
        "Add up how many hours you have spent on it",
    ),
    _open(
        BEG,
        "spaced practice",
        "What do we call spreading study sessions on {topic} out over time, instead of cramming them into one session?",
        (
            "spaced practice",
            "spacing",
            "spaced repetition",
            "spaced learning",
            "spacing effect",
            "the spacing effect",
            "distributed practice",
        ),
        ("spaced",),
    ),
    _open(
        BEG,
        "time management",
        "In the Pomodoro technique, which you could use to study {topic}, how many minutes long is one standard focused work interval?",
        ("25", "25 minutes", "25 min", "twenty-five", "twenty five"),
    ),
    _open(
        MID,
        "retrieval practice",
        "What is the name of the effect whereby recalling information on {topic} from memory, for example by answering quiz questions, makes it easier to remember later?",
        (
            "the testing effect",
            "testing effect",
            "retrieval practice",
            "retrieval practice effect",
            "practice testing",
            "retrieval effect",
        ),
        ("testing", "effect"),
    ),
    _open(
        MID,
        "goal setting",
        "In a SMART goal for studying {topic}, which word does the letter M stand for?",
        ("Measurable",),
    ),
    _open(
        ADV,
        "self-explanation",
        "What is the technique called, named after a physicist, in which you explain {topic} in simple words as if teaching a beginner, to reveal gaps in your understanding?",
        ("the Feynman technique", "Feynman technique", "Feynman method", "Feynman"),
        ("feynman",),
    ),
    _open(
        ADV,
        "interleaving",
        "What do we call mixing different types of practice problems on {topic} within one session, instead of practising one type at a time?",
        (
            "interleaving",
            "interleaved practice",
            "interleaving practice",
            "interleaved",
            "mixed practice",
        ),
    ),
    _list(
        ADV,
        "memory",
        "Memory research describes three stages that what you learn about {topic} goes through, from first meeting it to using it later. Name them, one word each.",
        ("encoding", "storage", "retrieval"),
    ),
    _list(
        ADV,
        "reading strategies",
        "List the five steps of the SQ3R reading method, which you could use on a textbook chapter about {topic}.",
        ("Survey", "Question", "Read", "Recite", "Review"),
    ),
)

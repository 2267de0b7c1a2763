package ember.bench;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the golden streams of Ember's Java-analogue tests with the JDK's own ObjectOutputStream,
 * the way Spark's JavaSerializationStream writes records: one writeObject per record and reset()
 * after every 100 (spark.serializer.objectStreamReset = 100).
 *
 * <p>Every string is a new String instance, as strings parsed from input are, so none is shared;
 * boxes come from autoboxing (Integer.valueOf and friends), as in any Java program. The Rust tests
 * in serde-bench/tests/golden.rs build the same records.
 *
 * <p>Usage: GoldenWriter OUTPUT_DIR
 */
public final class GoldenWriter {
    static final int OBJECT_STREAM_RESET = 100;

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        write(dir.resolve("person_edge.ser"), personEdge());
        write(dir.resolve("person_reset.ser"), personReset());
        write(dir.resolve("person_nan.ser"), List.of(
                new Person(1, s("nan"), 2, s("x"), Double.longBitsToDouble(0xFFF0000000000001L))));
        write(dir.resolve("person_longstring.ser"), List.of(
                new Person(7, s("é".repeat(32768)), 1, s("x"), 0.5)));
        write(dir.resolve("wide_edge.ser"), wideEdge());
        write(dir.resolve("wordcount_200.ser"), wordCounts());
        write(dir.resolve("person_shared.ser"), personShared());
    }

    /** A string no other record shares. */
    static String s(String value) {
        return new String(value);
    }

    static List<Object> personEdge() {
        List<Object> rows = new ArrayList<>();
        rows.add(new Person(1, s("Ada Lovelace"), 36, s("London"), 99.5));
        rows.add(new Person(2, s(""), 0, s(""), 0.0));
        rows.add(new Person(3, s("Zoë Ångström"), -1, s("Zürich"), -1.5));
        rows.add(new Person(4, s("東京の花子"), 29, s("東京"), 1e300));
        rows.add(new Person(5, s("emoji \uD83D\uDE00 and \uD834\uDD1E"), 40, s("Nul\u0000City"),
                Double.MIN_NORMAL));
        rows.add(new Person(Long.MIN_VALUE, s("max"), Integer.MAX_VALUE, s("x"),
                Double.POSITIVE_INFINITY));
        rows.add(new Person(Long.MAX_VALUE, s("min"), Integer.MIN_VALUE, s("y"), -0.0));
        rows.add(new Person(1, s("Ada Lovelace"), 36, s("London"), 99.5));
        return rows;
    }

    static final String[] CITIES = {"Paris", "Zürich", "東京", "São Paulo"};

    static List<Object> personReset() {
        List<Object> rows = new ArrayList<>();
        for (int i = 0; i < 250; i++) {
            rows.add(new Person(i, s("person-" + i), i % 100 - 10, s(CITIES[i % 4]), i * 0.25));
        }
        return rows;
    }

    static final String[] CATEGORIES = {"books", "garden", "électronique"};
    static final String[] REGIONS = {"north", "south", "\uD835\uDD2C\uD835\uDD33"};

    static Wide wide(int i) {
        Wide w = new Wide();
        w.id = i;
        w.category = s(CATEGORIES[i % 3]);
        w.quantity = i * 7;
        w.price = i * 0.5;
        w.in_stock = i % 2 == 0;
        w.label = s("label-" + i);
        w.created_ms = 1_700_000_000_000L + i;
        w.rating = i % 5;
        w.ratio = i / 8.0;
        w.flagged = i % 7 == 0;
        w.comment = i % 10 == 0 ? null : s("comment " + i);
        w.parent_id = i % 11 == 3 ? null : (long) (i - 60);
        w.level = i % 9 == 0 ? null : i % 10;
        w.discount = i % 13 == 0 ? null : i * 0.125;
        w.region = i % 6 == 0 ? null : s(REGIONS[i % 3]);
        w.amount = (long) i * i - 1000L;
        w.visits = i;
        w.weight = i * 2.5;
        w.code = s("SKU-" + i);
        w.priority = i % 8 == 0 ? null : i * 3;
        return w;
    }

    static List<Object> wideEdge() {
        List<Object> rows = new ArrayList<>();
        Wide allNull = wide(1);
        allNull.comment = null;
        allNull.parent_id = null;
        allNull.level = null;
        allNull.discount = null;
        allNull.region = null;
        allNull.priority = null;
        rows.add(allNull);
        for (int k = 0; k < 2; k++) {
            // Written twice: the second time the cached boxes (3, 5L) are back-references.
            Wide set = wide(2);
            set.comment = s("c");
            set.parent_id = 5L;
            set.level = 3;
            set.discount = 0.25;
            set.region = s("north");
            set.priority = 1000;
            rows.add(set);
        }
        Wide bounds = wide(3);
        bounds.level = -128;
        bounds.priority = 127;
        bounds.parent_id = -129L;
        bounds.quantity = Integer.MIN_VALUE;
        rows.add(bounds);
        Wide bounds2 = wide(4);
        bounds2.level = 128;
        bounds2.priority = -129;
        bounds2.parent_id = 127L;
        bounds2.discount = Double.NEGATIVE_INFINITY;
        rows.add(bounds2);
        Wide text = wide(5);
        text.comment = s("a\u0000b \uD83D\uDE00");
        text.region = s("");
        text.label = s("");
        rows.add(text);
        for (int i = 0; i < 225; i++) {
            rows.add(wide(i));
        }
        return rows;
    }

    static final String[] WORDS = {"the", "naïve", "straße", "\uD835\uDD18\uD835\uDD2B", "nul\u0000byte", ""};

    static List<Object> wordCounts() {
        List<Object> rows = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            rows.add(new WordCount(s(WORDS[i % 6]), (long) i * 1_000_003L - 77L));
        }
        return rows;
    }

    /** Shared objects, which Ember's writer never produces but its reader must resolve. */
    static List<Object> personShared() {
        String city = "Shared City";
        Person p = new Person(1, s("Ada"), 36, city, 1.5);
        Person q = new Person(2, s("Grace"), 45, city, 2.5);
        List<Object> rows = new ArrayList<>();
        rows.add(p);
        rows.add(p);
        rows.add(q);
        rows.add(new Person(3, q.name, 50, city, 3.5));
        return rows;
    }

    static void write(Path file, List<Object> rows) throws IOException {
        try (OutputStream out = new FileOutputStream(file.toFile());
                ObjectOutputStream objOut = new ObjectOutputStream(out)) {
            int counter = 0;
            for (Object row : rows) {
                objOut.writeObject(row);
                counter += 1;
                if (counter >= OBJECT_STREAM_RESET) {
                    objOut.reset();
                    counter = 0;
                }
            }
        }
    }
}

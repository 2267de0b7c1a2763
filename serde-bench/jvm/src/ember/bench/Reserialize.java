package ember.bench;

import java.io.EOFException;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a stream Ember's Java analogue wrote with the JDK's ObjectInputStream and writes the
 * objects back the way Spark's JavaSerializationStream does. Identical output proves the JDK reads
 * Ember's stream as Ember meant it and would itself have written the same bytes.
 *
 * <p>Usage: Reserialize INPUT OUTPUT
 */
public final class Reserialize {
    public static void main(String[] args) throws IOException, ClassNotFoundException {
        List<Object> rows = new ArrayList<>();
        try (InputStream in = new FileInputStream(args[0]);
                ObjectInputStream objIn = new ObjectInputStream(in)) {
            while (true) {
                try {
                    rows.add(objIn.readObject());
                } catch (EOFException end) {
                    break;
                }
            }
        }
        GoldenWriter.write(java.nio.file.Path.of(args[1]), rows);
        System.out.println(rows.size() + " objects");
    }
}

package ember.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.spark.SparkConf;
import org.apache.spark.serializer.DeserializationStream;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializationStream;
import org.apache.spark.serializer.SerializerInstance;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder$;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Times Spark's own serializers on the Person records of a stream Ember's Java analogue wrote:
 * JavaSerializer (reset every 100 objects, Spark's default), KryoSerializer with Person
 * registered and without, and the UnsafeRow encoder (rows framed by a length, as Spark's
 * UnsafeRowSerializer writes them). Each is warmed up for twice as many rounds as it is timed,
 * and at least ten, so the JIT has compiled the hot paths.
 *
 * <p>Usage: SparkSerializers INPUT ROUNDS. Prints one line per figure:
 * {@code RESULT serializer operation median_ns_per_row min max bytes_per_row}.
 */
public final class SparkSerializers {
    private static final ClassTag<Object> ANY = ClassTag$.MODULE$.Any();
    private static long sink;

    public static void main(String[] args) throws Exception {
        List<Person> rows = read(args[0]);
        int rounds = Integer.parseInt(args[1]);

        measure("jvm-java", new JavaSerializer(new SparkConf()).newInstance(), rows, rounds);
        SparkConf registered = new SparkConf().set("spark.kryo.registrationRequired", "true");
        registered.registerKryoClasses(new Class<?>[] {Person.class});
        measure("jvm-kryo-registered", new KryoSerializer(registered).newInstance(), rows, rounds);
        measure("jvm-kryo-unregistered", new KryoSerializer(new SparkConf()).newInstance(), rows, rounds);
        unsafeRow(rows, rounds);
        if (sink == 42) {
            System.out.println();
        }
    }

    private static List<Person> read(String path) throws IOException, ClassNotFoundException {
        List<Person> rows = new ArrayList<>();
        try (InputStream in = new FileInputStream(path);
                ObjectInputStream objIn = new ObjectInputStream(in)) {
            while (true) {
                try {
                    rows.add((Person) objIn.readObject());
                } catch (EOFException end) {
                    break;
                }
            }
        }
        return rows;
    }

    private interface Batch {
        void run() throws Exception;
    }

    private static void report(String name, String op, Batch batch, int rounds, int n, double bytesPerRow)
            throws Exception {
        for (int i = 0; i < Math.max(10, 2 * rounds); i++) {
            batch.run();
        }
        double[] ns = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            long start = System.nanoTime();
            batch.run();
            ns[i] = (System.nanoTime() - start) / (double) n;
        }
        Arrays.sort(ns);
        double median = rounds % 2 == 1 ? ns[rounds / 2] : (ns[rounds / 2 - 1] + ns[rounds / 2]) / 2;
        System.out.printf("RESULT %s %s %.3f %.3f %.3f %.3f%n", name, op, median, ns[0], ns[rounds - 1], bytesPerRow);
    }

    private static byte[] serialize(SerializerInstance inst, List<Person> rows) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(rows.size() * 64);
        SerializationStream out = inst.serializeStream(bytes);
        for (Person p : rows) {
            out.writeObject(p, ANY);
        }
        out.close();
        return bytes.toByteArray();
    }

    private static void measure(String name, SerializerInstance inst, List<Person> rows, int rounds)
            throws Exception {
        int n = rows.size();
        byte[] stream = serialize(inst, rows);
        double bytesPerRow = stream.length / (double) n;
        report(name, "encode", () -> sink += serialize(inst, rows).length, rounds, n, bytesPerRow);
        report(name, "decode", () -> {
            DeserializationStream in = inst.deserializeStream(new ByteArrayInputStream(stream));
            List<Person> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add((Person) in.readObject(ANY));
            }
            in.close();
            sink += out.size();
        }, rounds, n, bytesPerRow);
    }

    private static void unsafeRow(List<Person> people, int rounds) throws Exception {
        StructType schema = new StructType()
                .add("id", DataTypes.LongType, false)
                .add("name", DataTypes.StringType, false)
                .add("age", DataTypes.IntegerType, false)
                .add("city", DataTypes.StringType, false)
                .add("score", DataTypes.DoubleType, false);
        ExpressionEncoder<Row> encoder = ExpressionEncoder$.MODULE$.apply(schema);
        ExpressionEncoder.Serializer<Row> serializer = encoder.createSerializer();
        ExpressionEncoder<Row> bound =
                encoder.resolveAndBind(encoder.resolveAndBind$default$1(), encoder.resolveAndBind$default$2());
        ExpressionEncoder.Deserializer<Row> deserializer = bound.createDeserializer();
        int n = people.size();

        Batch encode = () -> {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(n * 80);
            DataOutputStream out = new DataOutputStream(bytes);
            byte[] buffer = new byte[4096];
            for (Person p : people) {
                Row row = RowFactory.create(p.id, p.name, p.age, p.city, p.score);
                UnsafeRow u = (UnsafeRow) serializer.apply(row);
                out.writeInt(u.getSizeInBytes());
                u.writeToStream(out, buffer);
            }
            out.flush();
            sink += bytes.size();
        };
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        DataOutputStream firstOut = new DataOutputStream(first);
        byte[] buffer = new byte[4096];
        for (Person p : people) {
            UnsafeRow u = (UnsafeRow) serializer.apply(RowFactory.create(p.id, p.name, p.age, p.city, p.score));
            firstOut.writeInt(u.getSizeInBytes());
            u.writeToStream(firstOut, buffer);
        }
        firstOut.flush();
        byte[] stream = first.toByteArray();
        double bytesPerRow = stream.length / (double) n;

        Batch decode = () -> {
            List<Person> out = new ArrayList<>(n);
            UnsafeRow u = new UnsafeRow(5);
            int pos = 0;
            while (pos < stream.length) {
                int len = ((stream[pos] & 0xFF) << 24) | ((stream[pos + 1] & 0xFF) << 16)
                        | ((stream[pos + 2] & 0xFF) << 8) | (stream[pos + 3] & 0xFF);
                u.pointTo(stream, Platform.BYTE_ARRAY_OFFSET + pos + 4, len);
                Row r = deserializer.apply(u);
                out.add(new Person(r.getLong(0), r.getString(1), r.getInt(2), r.getString(3), r.getDouble(4)));
                pos += 4 + len;
            }
            sink += out.size();
        };
        report("jvm-unsaferow", "encode", encode, rounds, n, bytesPerRow);
        report("jvm-unsaferow", "decode", decode, rounds, n, bytesPerRow);
    }
}

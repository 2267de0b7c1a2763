package ember.bench;

import java.io.Serializable;

/** The JVM twin of Ember's {@code Person} record. */
public final class Person implements Serializable {
    // Pinned so the stream bytes do not depend on the compiler's computed default.
    private static final long serialVersionUID = 7391004112838601291L;

    public final long id;
    public final String name;
    public final int age;
    public final String city;
    public final double score;

    public Person(long id, String name, int age, String city, double score) {
        this.id = id;
        this.name = name;
        this.age = age;
        this.city = city;
        this.score = score;
    }
}

package ember.bench;

import java.io.Serializable;

/**
 * The JVM twin of Ember's {@code Wide} record: twenty fields, the nullable ones boxed. Field names
 * are those of the Rust struct, since they are written into the stream.
 */
public final class Wide implements Serializable {
    private static final long serialVersionUID = -2145992716405123877L;

    public long id;
    public String category;
    public int quantity;
    public double price;
    public boolean in_stock;
    public String label;
    public long created_ms;
    public int rating;
    public double ratio;
    public boolean flagged;
    public String comment;
    public Long parent_id;
    public Integer level;
    public Double discount;
    public String region;
    public long amount;
    public int visits;
    public double weight;
    public String code;
    public Integer priority;
}

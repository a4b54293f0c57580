/// The calibration text `edgert calibrate` uses when given none: about 1,900 words written for
/// this project (fiction, instructions, an essay, a letter, questions and answers, a short Python
/// program, a checklist), so that the feed-forward sees prose, dialogue, lists and code. It is not
/// the shared evaluation text, on which sparse perplexity is then measured.
public enum CalibrationText {
    public static let builtIn = #"""
Chapter One: The Orchard

Mara inherited the orchard in the spring her grandmother turned ninety-four and decided, quite suddenly, that she was finished with ladders. There were sixty-one trees: mostly apples, a row of pears along the eastern fence, and two plum trees that nobody could remember planting. The house at the end of the lane had a blue door that stuck in wet weather and a kitchen that smelled permanently of cinnamon and woodsmoke.

"You'll want to prune before the buds break," her grandmother said on the first morning, pointing with her spoon. "Not after. After, you're just cutting off your own harvest."

"How do I know which branches to cut?"

"Look for the ones crossing each other. Look for the ones growing straight up like they're trying to escape. And anything dead, obviously." She paused. "And then stand back and ask yourself whether a bird could fly through the middle of the tree. If it can't, keep going."

Mara spent the next three weeks learning what a bird could fly through. Her hands blistered, then hardened. She learned that the old Bramley by the gate had a wound in its trunk that had healed into the shape of a closed eye, and that the pears leaned because of a storm in 1987 that had flattened half the county. By the time the blossom came, pink and white and humming with bees, she had stopped thinking of the trees as a job and started thinking of them as neighbours.

How to Make a Simple Bread

You need five hundred grams of strong white flour, ten grams of salt, seven grams of dried yeast, and about three hundred and fifty millilitres of lukewarm water. Mix the flour and salt in a large bowl, then add the yeast on the opposite side so that the salt does not touch it directly. Pour in most of the water and stir with your hand until a rough dough forms. Add the remaining water a little at a time if the dough feels dry.

Turn the dough out onto a clean surface and knead it for ten minutes. At first it will be sticky and uneven; resist the urge to add more flour. Slowly the dough will become smooth and elastic, and when you press it with a finger the dent should spring back. Place it in an oiled bowl, cover it with a damp cloth, and leave it somewhere warm until it has doubled in size, which usually takes between one and two hours.

Knock the air out of the dough, shape it into a loaf, and place it on a floured tray. Let it rise again for forty-five minutes. Meanwhile heat the oven to two hundred and twenty degrees Celsius. Slash the top with a sharp knife, put a small dish of water on the bottom shelf to create steam, and bake for thirty to thirty-five minutes. The loaf is done when it sounds hollow when tapped underneath. Let it cool before you cut it, even though this is the hardest step of all.

A Note on Rivers

A river is never the same from one year to the next. Water carries sediment from the steep upper reaches, where the current is fast, and drops it wherever the flow slows down: on the inside of bends, behind fallen trees, at the mouth where fresh water meets the sea. Over time the outer banks erode and the inner banks grow, so that a gentle curve becomes a loop, and a loop becomes a horseshoe. Eventually, during a flood, the river cuts across the narrow neck of land and abandons the loop entirely, leaving behind a crescent-shaped lake.

Engineers once tried to hold rivers in place with straight concrete channels. The result was often faster water, deeper erosion downstream, and worse flooding in the towns the channels were meant to protect. Many cities are now doing the opposite: removing the concrete, reconnecting rivers to their floodplains, and giving the water room to spread out when it needs to. Wetlands, it turns out, are very good at absorbing a sudden surge, and they provide habitat for birds, fish and insects at the same time.

Letter to a Younger Colleague

Dear Tom,

Thank you for your note last week and for the draft of your report. I read it twice, once quickly and once with a pencil, and I think the core of it is strong. Your measurements are careful and your conclusions follow from them. What I would change is mostly the order. At the moment the reader has to get through four pages of method before learning what you found. Put the finding first, in two sentences, and then explain how you know it. People who trust you will stop reading after the first paragraph, and people who don't will keep going until they are convinced. Both groups will thank you.

Two smaller points. First, when you write "significantly," say whether you mean statistically or practically; those are different claims. Second, the figure on page six has no units on the vertical axis. I know what they are, but the next person might not.

I remember sending my own first report to my supervisor with a note saying I was sure it was terrible. She wrote back one line: "Don't apologise in advance; just make it better." It was the most useful advice I received that year, so I am passing it on.

Best wishes,
Eleanor

Questions and Answers About the Night Sky

Why do stars twinkle but planets mostly do not? A star is so far away that its light reaches us as a single point. As that thin beam passes through layers of air at different temperatures, it is bent slightly this way and that, and the star appears to flicker. A planet is much closer and shows a tiny disc rather than a point; the flickering from different parts of the disc averages out, so the light looks steadier.

Why is the Moon sometimes visible during the day? The Moon orbits the Earth roughly once a month, so for much of that time it is above the horizon during daylight hours. It is bright enough to be seen against the blue sky whenever it is not too close to the Sun in direction.

What is a shooting star? It is not a star at all but a grain of dust or rock, often no bigger than a grain of sand, entering the atmosphere at tens of kilometres per second. Friction with the air heats it until it glows and burns up, usually about eighty to a hundred kilometres above the ground.

A Short Program

The following function counts how often each word appears in a piece of text and returns the most common ones:

def most_common_words(text, limit=10):
    counts = {}
    for raw in text.split():
        word = raw.strip(".,;:!?\"'()").lower()
        if not word:
            continue
        counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]

if __name__ == "__main__":
    sample = "the cat sat on the mat and the dog sat on the rug"
    for word, n in most_common_words(sample, limit=3):
        print(f"{word}: {n}")

Running it prints "the: 4", then "on: 2", then "sat: 2". Ties are broken alphabetically because the sort key uses the word itself as the second element.

On Learning a Second Language

Adults often believe that children learn languages effortlessly, and that after a certain age the door closes. The truth is more interesting. Children have time, patience from the people around them, and no embarrassment about making mistakes. Adults have better memories for rules, larger vocabularies in their first language to map onto the new one, and the ability to study deliberately. What adults usually lack is exposure: hours of listening to real speech, in context, about things they care about.

A practical approach is to combine both kinds of learning. Spend a little time each day on structured study, such as grammar exercises or vocabulary cards that repeat at increasing intervals. Spend much more time on input that is slightly above your level: podcasts, simple novels, television with subtitles in the language you are learning. Speak as early as you can, even badly. Mistakes are not evidence of failure; they are the raw material from which accuracy is built.

The Market on Saturday

By seven o'clock the square was already crowded. The cheese seller had set out wheels of hard mountain cheese, soft rounds wrapped in chestnut leaves, and a bucket of fresh curds that he offered to children on the end of a wooden spoon. Next to him a woman sold eggs in every shade from white to speckled olive, and a man with a beard like a hedge sold honey in jars labelled by month: April was pale and floral, August dark and almost bitter.

There were tomatoes that actually smelled of tomatoes, bunches of dill as big as bouquets, and a stall selling nothing but potatoes, twenty kinds of them, each with a handwritten card explaining whether it was best boiled, roasted or mashed. A street musician played the accordion by the fountain, badly but with enormous enthusiasm, and a dog lay asleep across the entrance to the bakery so that everyone had to step over it.

Maintenance Checklist for a Bicycle

1. Check the tyre pressure before every ride; the recommended range is printed on the side of the tyre.
2. Squeeze both brake levers. They should stop well before touching the handlebar.
3. Spin each wheel and watch the gap between the rim and the brake pads. A wobble means a spoke may need tightening.
4. Clean and oil the chain every few hundred kilometres, or after any ride in the rain. Wipe off the excess oil, because oil on the outside of the chain only attracts dirt.
5. Shift through all the gears while turning the pedals by hand. If the chain hesitates or skips, the cable may have stretched and need a small adjustment with the barrel adjuster.
6. Look for cracks near the welds of the frame, especially on older bicycles.

Chapter Two: Harvest

The first apples were ready in late August, small and sharp and streaked with red. Mara picked them into a canvas bag that hung from her shoulder and emptied it gently into wooden crates, because bruised fruit rots and spreads its rot to its neighbours. Her grandmother supervised from a kitchen chair that had been carried out under the nearest tree, offering opinions on every apple.

"That one's for eating now. That one's for the store. That one," she said, squinting, "is for the pigs."

"We don't have pigs."

"Then it's for the compost, and the compost will grow next year's pumpkins, and the pumpkins will feed you in November. Nothing is wasted in an orchard unless you let it be."

In September the neighbours came with their children and their own baskets, and for three weekends the lane was full of cars and laughter. They pressed the windfalls into juice with an old wooden press that had to be tightened by two people pulling on a long iron bar. The juice came out cloudy and gold, and the children drank it straight from the spout until their stomachs ached. In the evenings Mara wrote in a notebook which trees had cropped well and which had not, which varieties the visitors had liked, and which branches would need to come out next winter. She realised, writing it, that she was already planning the next year, and the one after that, and that she had no intention of leaving.
"""#
}

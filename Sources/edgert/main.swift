print("edgert")

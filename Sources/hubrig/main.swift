print("hubrig")
